package upstreamerrors_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// expectUntouched checks a response the module must pass as it is.
func expectUntouched(t *testing.T, c *testcaddy.Caddy, res *http.Response, body []byte, id string, status int, want string) {
	t.Helper()
	if res.StatusCode != status || string(body) != want {
		t.Errorf("%d %.200q, want %d %.200q untouched", res.StatusCode, body, status, want)
	}
	if v := res.Header.Values("Proxy-Status"); len(v) != 0 {
		t.Errorf("Proxy-Status %q on the site's own response", v)
	}
	if es := c.ModuleEntries(id); len(es) != 0 {
		t.Errorf("the module logged the site's own response: %v", es)
	}
}

// expectNormalizedBy checks a normalized answer: status, cause, the problem
// type of the config that must answer, one log entry, and nothing of the
// upstream's page.
func expectNormalizedBy(t *testing.T, c *testcaddy.Caddy, res *http.Response, body []byte, id string, status int, cause, typ string) {
	t.Helper()
	if res.StatusCode != status {
		t.Errorf("status %d, want %d", res.StatusCode, status)
	}
	for k, vs := range res.Header {
		for _, v := range vs {
			if strings.Contains(v, "SECRET") || k == "X-Upstream-Secret" || k == "X-Powered-By" || strings.Contains(v, "Apache") {
				t.Errorf("upstream field leaked: %s: %s", k, v)
			}
		}
	}
	if res.Header.Get("Proxy-Status") == "" {
		t.Errorf("no Proxy-Status on a normalized answer")
	}
	if len(body) > 0 {
		var p testcaddy.Problem
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatalf("not a problem body: %v: %.300q", err, body)
		}
		if p.Status != status || p.Cause != cause || p.Type != typ+cause {
			t.Errorf("problem %+v, want %d %s from %s", p, status, cause, typ)
		}
	}
	es := c.ModuleEntries(id)
	if len(es) != 1 {
		t.Fatalf("want 1 log entry, got %v", es)
	}
	if e := es[0]; e["status"] != float64(status) || e["cause"] != cause {
		t.Errorf("log entry %v, want %d %s", e, status, cause)
	}
}

// TestSiteLevelLeavesTheSiteAlone checks that a directive at the top of a
// site, which now wraps every handler, still passes every response the
// site writes itself, while an upstream's page under a handle block is
// normalized.
func TestSiteLevelLeavesTheSiteAlone(t *testing.T) {
	root := t.TempDir()
	os.WriteFile(filepath.Join(root, "page.html"), []byte("<p>static page</p>"), 0o600)
	os.WriteFile(filepath.Join(root, "tpl.html"), []byte(`<p>{{"templated"}}</p>`), 0o600)
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			return
		}
		if strings.HasSuffix(r.URL.Path, "/fail") {
			legacyError(w, false)
			return
		}
		io.WriteString(w, "stored")
	}))
	c := testcaddy.StartCaddyfile(t, `upstream_errors {
	type https://site.test/errors/
}
redir /old /new 301
handle /respond {
	respond "own maintenance page" 503
}
handle /error {
	error "down" 503
}
handle /files/* {
	root * `+root+`
	uri strip_prefix /files
	file_server
}
handle /tpl/* {
	root * `+root+`
	uri strip_prefix /tpl
	templates
	file_server
}
handle /auth/* {
	basic_auth {
		alice $2a$14$Zkx19XLiW6VYouLHR5NmfOFU0z2GTNmpkT/5qqR7hx4IjWJPDhjvG
	}
	respond "private"
}
handle /upload {
	request_body {
		max_size 10
	}
	reverse_proxy `+up+`
}
handle /upload-outer {
	route {
		request_body {
			max_size 10
		}
		upstream_errors
		reverse_proxy `+up+`
	}
}
handle_path /stripped/* {
	reverse_proxy `+up+`
}
route /routed/* {
	reverse_proxy `+up+`
}
handle {
	reverse_proxy `+up+`
}`)

	for _, tc := range []struct {
		name, method, path string
		body               io.Reader
		status             int
		want               string
	}{
		{"respond", "GET", "/respond", nil, 503, "own maintenance page"},
		{"error", "GET", "/error", nil, 503, ""},
		{"file_server", "GET", "/files/page.html", nil, 200, "<p>static page</p>"},
		{"file_server 404", "GET", "/files/missing.html", nil, 404, ""},
		{"templates", "GET", "/tpl/tpl.html", nil, 200, "<p>templated</p>"},
		{"redir", "GET", "/old", nil, 301, ""},
		{"basic_auth", "GET", "/auth/x", nil, 401, ""},
		{"request_body by length", "POST", "/upload", strings.NewReader(strings.Repeat("x", 100)), 413, ""},
		// no length: the proxy reads past the limit
		{"request_body chunked", "POST", "/upload", io.MultiReader(strings.NewReader(strings.Repeat("x", 100))), 413, ""},
		// the limit wraps the body before the directive does
		{"request_body outside", "POST", "/upload-outer", io.MultiReader(strings.NewReader(strings.Repeat("x", 100))), 413, ""},
		{"upstream 200", "POST", "/store", strings.NewReader("small"), 200, "stored"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body, id := requestWith(t, c, tc.method, tc.path, tc.body)
			expectUntouched(t, c, res, body, id, tc.status, tc.want)
		})
	}
	for _, path := range []string{"/fail", "/stripped/fail", "/routed/fail"} {
		t.Run("upstream 500 "+path, func(t *testing.T) {
			res, body, id := requestWith(t, c, "GET", path, nil)
			expectNormalizedBy(t, c, res, body, id, 502, "http_response_status", "https://site.test/errors/")
		})
	}
}

// TestHeldBackHeads checks the writers that hold an upstream's head back
// and write it after the proxy returned: encode for a body-less response
// (HEAD, an empty page), templates, and the intercept directive, which
// keeps the upstream's fields in the response it writes. No stack frame
// of the proxy is left when they write, so the proxy's Via is what tells;
// with the status rewritten on the way as well, nothing else would.
func TestHeldBackHeads(t *testing.T) {
	page := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		legacyError(w, false)
	}))
	empty := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Set-Cookie", secretCookie)
		w.Header().Set("X-Upstream-Secret", "yes")
		w.WriteHeader(500)
	}))
	const typ = "https://site.test/errors/"
	c := testcaddy.StartCaddyfile(t, `upstream_errors {
	type `+typ+`
}
handle /encode/* {
	encode gzip
	reverse_proxy `+page+`
}
handle /encode-replace/* {
	encode gzip
	reverse_proxy `+page+` {
		@e status 500
		replace_status @e 503
	}
}
handle /empty/* {
	encode gzip
	reverse_proxy `+empty+`
}
handle /templates/* {
	templates
	reverse_proxy `+page+`
}
handle /templates-no-via/* {
	header -Via
	templates
	reverse_proxy `+page+` {
		@e status 500
		replace_status @e 503
	}
}
handle /templates-own-page/* {
	templates
	reverse_proxy `+page+` {
		@e status 500
		handle_response @e {
			respond "<p>our own page</p>" 503
		}
	}
}
handle /intercept/* {
	intercept {
		@e status 500
		handle_response @e {
			respond "our page" 503
		}
	}
	reverse_proxy `+page+`
}`)
	for _, tc := range []struct {
		name, method, path string
		status             int
	}{
		{"encode HEAD", "HEAD", "/encode/x", 502},
		{"encode HEAD replace_status", "HEAD", "/encode-replace/x", 503},
		{"encode GET replace_status", "GET", "/encode-replace/x", 503},
		{"encode empty page", "GET", "/empty/x", 502},
		{"templates", "GET", "/templates/x", 502},
		// with the proxy's Via gone and the status rewritten, the
		// upstream's own fields are left to tell
		{"templates header -Via replace_status", "GET", "/templates-no-via/x", 503},
		{"intercept", "GET", "/intercept/x", 503},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, body, id := requestWith(t, c, tc.method, tc.path, nil, "Accept-Encoding", "gzip")
			if bytes.Contains(body, []byte("SECRET")) {
				t.Errorf("the upstream's page leaked: %q", body)
			}
			expectNormalizedBy(t, c, res, body, id, tc.status, "http_response_status", typ)
		})
	}
	t.Run("own page held back by templates", func(t *testing.T) {
		res, body, id := requestWith(t, c, "GET", "/templates-own-page/x", nil)
		expectUntouched(t, c, res, body, id, 503, "<p>our own page</p>")
	})
}

// TestCallStackTellsWhoWrites checks the call-stack signal alone: with
// the proxy's Via removed before this handler sees the head and no
// distinctive upstream field in it, the function writing a head says
// whose it is. reverse_proxy's copy of an upstream response is the
// upstream's even when replace_status changed its status; a
// handle_response route's own page is the site's even with the
// upstream's status. The walk stops at this handler's own frame: here
// upstream_errors runs inside a handle_response route of an outer
// reverse_proxy, and templates holds the inner upstream's 500 back and
// replays it from its own frame, so the outer proxy's handle_response
// frame, further up, says nothing about it and the upstream's status
// decides. A walk that went on would take the replay for the outer
// route's own page and leak the upstream's.
func TestCallStackTellsWhoWrites(t *testing.T) {
	page := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		legacyError(w, false)
	}))
	// only fields any response has: nothing but the stack tells
	plain := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "<p>"+secretBody+"</p>")
	}))
	outer := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	const typ = "https://site.test/errors/"
	c := testcaddy.StartCaddyfile(t, `upstream_errors {
	type `+typ+`
}
handle /replaced/* {
	header -Via
	reverse_proxy `+plain+` {
		@e status 500
		replace_status @e 503
	}
}
handle /own-page/* {
	header -Via
	reverse_proxy `+plain+` {
		@e status 500
		handle_response @e {
			respond "<p>our own page</p>" 500
		}
	}
}
handle /nested/* {
	reverse_proxy `+outer+` {
		@ok status 2xx
		handle_response @ok {
			route {
				upstream_errors {
					type `+typ+`
				}
				header -Via
				templates
				reverse_proxy `+page+`
			}
		}
	}
}`)
	t.Run("proxy copy with its status replaced", func(t *testing.T) {
		res, body, id := requestWith(t, c, "GET", "/replaced/x", nil)
		if bytes.Contains(body, []byte("SECRET")) {
			t.Errorf("the upstream's page leaked: %q", body)
		}
		expectNormalizedBy(t, c, res, body, id, 503, "http_response_status", typ)
	})
	t.Run("handle_response page with the upstream's status", func(t *testing.T) {
		res, body, id := requestWith(t, c, "GET", "/own-page/x", nil)
		expectUntouched(t, c, res, body, id, 500, "<p>our own page</p>")
	})
	t.Run("replayed inside an outer handle_response", func(t *testing.T) {
		res, body, id := requestWith(t, c, "GET", "/nested/x", nil)
		if bytes.Contains(body, []byte("SECRET")) {
			t.Errorf("the upstream's page leaked: %q", body)
		}
		expectNormalizedBy(t, c, res, body, id, 502, "http_response_status", typ)
	})
}

// TestInnermostDirectiveWins checks nested directives: the one nearest
// the upstream decides with its own config and is the only one to log
// and count; a handler only the outer one wraps, such as a site-level
// forward_auth, is the outer one's.
func TestInnermostDirectiveWins(t *testing.T) {
	page := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth" {
			w.Header().Set("X-User", "alice")
			return
		}
		legacyError(w, false)
	}))
	dead := testcaddy.ClosedPort(t)
	hang := testcaddy.RawServer(t, testcaddy.Hang)
	c := testcaddy.StartCaddyfile(t, `upstream_errors {
	type https://outer.test/
	status connection_refused 503
}
handle /hang/* {
	upstream_errors
	reverse_proxy `+hang+`
}
handle /off/* {
	upstream_errors {
		intercept off
	}
	reverse_proxy `+page+`
}
handle /mapped/* {
	upstream_errors {
		type https://inner.test/
	}
	reverse_proxy `+dead+`
}
handle /nested/* {
	upstream_errors {
		type https://middle.test/
	}
	handle /nested/deep/* {
		upstream_errors {
			type https://deep.test/
		}
		reverse_proxy `+page+`
	}
	reverse_proxy `+page+`
}
handle /auth-dead/* {
	route {
		forward_auth `+dead+` {
			uri /auth
		}
		upstream_errors {
			type https://inner.test/
		}
		reverse_proxy `+page+`
	}
}
handle /auth-ok/* {
	route {
		forward_auth `+page+` {
			uri /auth
			copy_headers X-User
		}
		upstream_errors {
			type https://inner.test/
		}
		reverse_proxy `+dead+`
	}
}`, testcaddy.Options{Admin: true})

	t.Run("inner intercept off", func(t *testing.T) {
		res, body, id := requestWith(t, c, "GET", "/off/x", nil)
		if res.StatusCode != 500 || !bytes.Contains(body, []byte(secretBody)) {
			t.Errorf("%d %.100q, want the inner config's pass-through of the page", res.StatusCode, body)
		}
		if es := c.ModuleEntries(id); len(es) != 0 {
			t.Errorf("logged a page the inner config passes: %v", es)
		}
	})
	t.Run("client leaves", func(t *testing.T) {
		before := readCounts(t, c)
		if es := leaveBeforeAnswer(t, c, "/hang/x", "nested-leaves"); len(es) != 1 {
			t.Errorf("want 1 entry from the inner directive, got %v", es)
		}
		expectCounted(t, c, before, 0, 1)
	})
	for _, tc := range []struct {
		name, path, cause, typ string
		status                 int
	}{
		// the inner config has no status line: its 502 stands
		{"inner config", "/mapped/x", "connection_refused", "https://inner.test/", 502},
		{"middle", "/nested/x", "http_response_status", "https://middle.test/", 502},
		{"deepest", "/nested/deep/x", "http_response_status", "https://deep.test/", 502},
		// forward_auth written before the inner directive in a route: only
		// the outer one wraps it
		{"auth service down", "/auth-dead/x", "connection_refused", "https://outer.test/", 503},
		{"app down behind auth", "/auth-ok/x", "connection_refused", "https://inner.test/", 502},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := readCounts(t, c)
			res, body, id := requestWith(t, c, "GET", tc.path, nil)
			expectNormalizedBy(t, c, res, body, id, tc.status, tc.cause, tc.typ)
			expectCounted(t, c, before, 1, 0)
		})
	}
}

// TestSameStatusAndCauseTwoDetails checks that one handler answering the
// same status and cause with two different details sends each its own:
// an upstream's 503 kept as it is, and an upstream's 500 the site
// rewrote to 503.
func TestSameStatusAndCauseTwoDetails(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	c := testcaddy.StartCaddyfile(t, `upstream_errors
handle /kept/* {
	reverse_proxy `+up+` {
		rewrite /status/503
	}
}
handle /rewritten/* {
	reverse_proxy `+up+` {
		rewrite /status/500
		@e status 500
		replace_status @e 503
	}
}`)
	for _, path := range []string{"/kept/x", "/rewritten/x", "/kept/y"} {
		t.Run(path, func(t *testing.T) {
			res, body, id := request(t, c, "GET", path)
			want := problem{status: 503, cause: "http_response_status", upstream: 503}
			if strings.HasPrefix(path, "/rewritten/") {
				want.upstream = 500
			}
			expectProblem(t, c, res, body, id, want)
		})
	}
}

// TestForwardAuthDecisions checks that an auth service's decisions pass
// as it made them under a site-level directive (the copied header for a
// 2xx, a redirect, a 401, a 403) and that a listed 4xx is replaced like
// any upstream page, keeping its status and the 401's challenge.
func TestForwardAuthDecisions(t *testing.T) {
	auth := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uri := r.Header.Get("X-Forwarded-Uri")
		w.Header().Set("Set-Cookie", secretCookie)
		switch {
		case strings.HasSuffix(uri, "/allow"):
			w.Header().Set("X-User", "alice")
		case strings.HasSuffix(uri, "/redirect"):
			w.Header().Set("Location", "https://login.example/?next=/app")
			w.WriteHeader(http.StatusFound)
		case strings.HasSuffix(uri, "/deny401"):
			w.Header().Set("WWW-Authenticate", `Bearer realm="app"`)
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, deniedBody)
		case strings.HasSuffix(uri, "/deny403"):
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, "AUTH-403-PAGE")
		}
	}))
	app := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "app for "+r.Header.Get("X-User")) //nolint:gosec // a test upstream echoing a header
	}))
	guarded := `forward_auth ` + auth + ` {
		uri /auth
		copy_headers X-User
	}
	reverse_proxy ` + app
	c := testcaddy.StartSites(t, map[string]string{
		"default.test": "upstream_errors\n" + guarded,
		"listed.test":  "upstream_errors {\nintercept 4xx 5xx\n}\n" + guarded,
	})
	get := func(host, path string) (*http.Response, string, string) {
		req, _ := http.NewRequest("GET", c.URL(path), nil)
		req.Host = host
		id := "auth-" + host + strings.ReplaceAll(path, "/", "-")
		req.Header.Set("X-Request-ID", id)
		res, err := c.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := readBody(res)
		if err != nil {
			t.Fatal(err)
		}
		return res, body, id
	}
	for _, host := range []string{"default.test", "listed.test"} {
		t.Run(host+"/allow", func(t *testing.T) {
			res, body, id := get(host, "/allow")
			expectUntouched(t, c, res, []byte(body), id, 200, "app for alice")
		})
		t.Run(host+"/redirect", func(t *testing.T) {
			res, body, id := get(host, "/redirect")
			expectUntouched(t, c, res, []byte(body), id, 302, "")
			if loc := res.Header.Get("Location"); loc != "https://login.example/?next=/app" {
				t.Errorf("Location %q", loc)
			}
		})
	}
	t.Run("default.test/deny", func(t *testing.T) {
		res, body, id := get("default.test", "/deny401")
		expectUntouched(t, c, res, []byte(body), id, 401, deniedBody)
		res, body, id = get("default.test", "/deny403")
		expectUntouched(t, c, res, []byte(body), id, 403, "AUTH-403-PAGE")
	})
	t.Run("listed.test/deny", func(t *testing.T) {
		for path, status := range map[string]int{"/deny401": 401, "/deny403": 403} {
			res, body, id := get("listed.test", path)
			if res.StatusCode != status || strings.Contains(body, "AUTH-") || res.Header.Get("Set-Cookie") != "" {
				t.Errorf("%s: %d %q %v, want the auth service's %d replaced", path, res.StatusCode, body, res.Header, status)
			}
			if status == 401 && res.Header.Get("WWW-Authenticate") != `Bearer realm="app"` {
				t.Errorf("the 401 lost its challenge: %v", res.Header)
			}
			es := c.ModuleEntries(id)
			if len(es) != 1 || es[0]["upstream"] != auth || es[0]["upstream_status"] != float64(status) {
				t.Errorf("%s: log %v, want one entry naming the auth service", path, es)
			}
		}
	})
}

// TestHandleResponseErrorReachesHandleErrors checks that an `error` a site
// raises in handle_response is the site's own, under a site-level
// directive: it reaches handle_errors untouched, with its own status.
func TestHandleResponseErrorReachesHandleErrors(t *testing.T) {
	page := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		legacyError(w, false)
	}))
	c := testcaddy.StartCaddyfile(t, `upstream_errors
handle {
	reverse_proxy `+page+` {
		@e status 500
		handle_response @e {
			error "reports are rebuilding" 503
		}
	}
}
handle_errors {
	respond "site error {err.status_code}: {err.message}" {err.status_code}
}`)
	res, body, id := request(t, c, "GET", "/reports")
	expectUntouched(t, c, res, body, id, 503, "site error 503: reports are rebuilding")
}
