package upstreamerrors_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// legacy4xx is a backend that answers /page/{code} with an HTML error
// page, the fields its status needs and headers that must not leak, and
// /json/{code} with a JSON error body of the Content-Type in ?ct=.
func legacy4xx() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/page/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.PathValue("code"), &code)
		h := w.Header()
		h.Set("Server", "Apache/2.2.15 (CentOS)")
		h.Set("X-Powered-By", "PHP/5.3.3")
		h.Set("X-Upstream-Secret", "10.1.2.3")
		h.Set("Via", "1.0 legacy-lb.internal")
		h.Set("Set-Cookie", "PHPSESSID=abc")
		h.Set("Content-Type", "text/html; charset=iso-8859-1")
		for _, f := range []string{"WWW-Authenticate", "Proxy-Authenticate", "Allow", "Content-Range", "Retry-After"} {
			if v := r.URL.Query().Get(f); v != "" {
				h.Set(f, v)
			}
		}
		w.WriteHeader(code)
		io.WriteString(w, "<html><body><h1>Error</h1><pre>at /srv/legacy/app.php:12 on 10.1.2.3</pre></body></html>")
	})
	mux.HandleFunc("/json/{code}", func(w http.ResponseWriter, r *http.Request) {
		var code int
		fmt.Sscan(r.PathValue("code"), &code)
		w.Header().Set("Content-Type", r.URL.Query().Get("ct"))
		w.Header().Set("X-App", "orders")
		w.WriteHeader(code)
		io.WriteString(w, `{"errors":[{"field":"quantity","message":"must be positive"}],"trace":"OrderService.java:42"}`)
	})
	return mux
}

// replaced is what a normalized 4xx or 5xx is expected to be, beyond the
// problem body.
type replaced struct {
	problem
	// local marks an error of the site's own handlers.
	local bool
	// kept lists the fields expected on the response, with their values;
	// no other field may reach the client.
	kept map[string]string
}

// ownFields are the fields the module and Caddy put on every normalized
// response.
var ownFields = []string{
	"Content-Type", "Content-Length", "Cache-Control", "X-Content-Type-Options",
	"Vary", "X-Request-Id", "Proxy-Status", "Date", "Server", "Via",
}

// expectReplaced asserts a normalized response of any status: its body,
// that it carries exactly the module's fields plus want.kept, its
// Proxy-Status, and its log entry's level, message and class.
func expectReplaced(t *testing.T, c *testcaddy.Caddy, res *http.Response, body []byte, id string, want replaced) {
	t.Helper()
	if res.StatusCode != want.status {
		t.Fatalf("status = %d, want %d; body: %s", res.StatusCode, want.status, body)
	}
	for name := range res.Header {
		if _, ok := want.kept[name]; !ok && !slices.Contains(ownFields, name) {
			t.Errorf("field %s: %q reached the client", name, res.Header.Values(name))
		}
	}
	for name, v := range want.kept {
		if got := res.Header.Values(name); len(got) != 1 || got[0] != v {
			t.Errorf("field %s = %q, want %q", name, got, v)
		}
	}
	expectProblemFields(t, res, id)
	if s := res.Header.Get("Server"); s != "" && s != "Caddy" {
		t.Errorf("Server = %q, want Caddy's own or none", s)
	}
	wantPS := fmt.Sprintf("caddy; error=%s", want.cause)
	if want.upstream != 0 {
		wantPS = fmt.Sprintf("caddy; received-status=%d", want.upstream)
	}
	// compared as structured fields: spacing is not significant
	if got := res.Header.Get("Proxy-Status"); canonicalSF(t, got) != canonicalSF(t, wantPS) {
		t.Errorf("Proxy-Status = %q, want %q", got, wantPS)
	}

	var p testcaddy.Problem
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("body is not the problem object: %v\n%s", err, body)
	}
	exp := testcaddy.Problem{
		Type: "about:blank", Title: http.StatusText(want.status), Status: want.status,
		Detail: want.detail, Instance: res.Request.URL.Path, Cause: want.cause, RequestID: id,
	}
	if p != exp {
		t.Errorf("problem = %+v\nwant      %+v", p, exp)
	}
	for _, leak := range []string{"10.1.2.3", "app.php", "<html", "127.0.0.1"} {
		if strings.Contains(string(body), leak) {
			t.Errorf("body leaks %q: %s", leak, body)
		}
	}

	entries := c.ModuleEntries(id)
	if len(entries) != 1 {
		t.Fatalf("want 1 log entry for %s, got %d: %v", id, len(entries), entries)
	}
	e := entries[0]
	class := fmt.Sprintf("%dxx", want.status/100)
	level, msg := "error", "upstream error"
	if want.status < 500 {
		level = "info"
	}
	if want.local {
		msg = "handler error"
	}
	if e["level"] != level || e["msg"] != msg {
		t.Errorf("log level/msg = %v/%v, want %s/%s", e["level"], e["msg"], level, msg)
	}
	if e["status"] != float64(want.status) || e["class"] != class || e["cause"] != want.cause {
		t.Errorf("log status/class/cause = %v/%v/%v, want %d/%s/%s", e["status"], e["class"], e["cause"], want.status, class, want.cause)
	}
	if got, _ := e["upstream_status"].(float64); int(got) != want.upstream {
		t.Errorf("log upstream_status = %v, want %d", e["upstream_status"], want.upstream)
	}
}

// clientDetail is the detail the README promises for a 4xx.
func clientDetail(status int) string {
	if d, ok := testcaddy.ClientDetails[status]; ok {
		return d
	}
	return testcaddy.ClientDetails[0]
}

func TestLegacy4xxPagesReplaced(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacy4xx())
	c := testcaddy.StartCaddyfile(t, `upstream_errors {
	intercept 4xx 5xx
}
reverse_proxy `+up, testcaddy.Options{Admin: true})

	for _, tc := range []struct {
		name   string
		status int
		query  string
		kept   map[string]string
	}{
		{"404 page", 404, "", nil},
		{"405 keeps Allow", 405, "Allow=GET,%20HEAD", map[string]string{"Allow": "GET, HEAD"}},
		{
			"401 keeps its challenge", 401, "WWW-Authenticate=Basic%20realm%3D%22legacy%22",
			map[string]string{"Www-Authenticate": `Basic realm="legacy"`},
		},
		// reverse_proxy drops the upstream's hop-by-hop challenge itself
		{"407", 407, "Proxy-Authenticate=Basic%20realm%3D%22gw%22", nil},
		{
			"416 keeps the unsatisfied range", 416, "Content-Range=bytes%20*/1000",
			map[string]string{"Content-Range": "bytes */1000"},
		},
		{"429 keeps Retry-After", 429, "Retry-After=30", map[string]string{"Retry-After": "30"}},
		{"409", 409, "", nil},
		{"418 has the generic sentence", 418, "", nil},
		// a field another status needs is dropped like any upstream field
		{"404 drops Allow", 404, "Allow=GET", nil},
		// a byte range would label the problem body as part of the resource
		{"416 drops a byte range", 416, "Content-Range=bytes%200-9/1000", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := fmt.Sprintf("/page/%d", tc.status)
			if tc.query != "" {
				path += "?" + tc.query
			}
			res, body, id := request(t, c, "GET", path)
			expectReplaced(t, c, res, body, id, replaced{
				problem: problem{status: tc.status, cause: "http_response_status", upstream: tc.status, detail: clientDetail(tc.status)},
				kept:    tc.kept,
			})
		})
	}

	t.Run("a browser gets the page for the status", func(t *testing.T) {
		res, body, _ := request(t, c, "GET", "/page/404", "Accept", "text/html")
		if res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("%d %q", res.StatusCode, res.Header.Get("Content-Type"))
		}
		for _, s := range []string{"404", "Not Found", "There is no such resource."} {
			if !strings.Contains(string(body), s) {
				t.Errorf("page lacks %q:\n%s", s, body)
			}
		}
		// nothing will change for the same request in a moment
		if strings.Contains(string(body), "try again") {
			t.Errorf("a 404 page asks to try again:\n%s", body)
		}
	})

	t.Run("metric class", func(t *testing.T) {
		const series = `caddy_http_upstream_errors_total{cause="http_response_status",class="4xx",server="srv0",status="404"}`
		before := scrape(t, c, series)
		request(t, c, "GET", "/page/404")
		if after := scrape(t, c, series); after != before+1 {
			t.Errorf("%s went from %v to %v, want +1", series, before, after)
		}
	})
}

// TestInterceptChosen4xxOnly checks that only the listed 4xx statuses are
// replaced, that the default leaves every 4xx alone, and that a 4xx of
// another handler is never taken for an upstream's.
func TestInterceptChosen4xxOnly(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacy4xx())
	c := testcaddy.StartCaddyfile(t, `route /only404/* {
	upstream_errors {
		intercept 404 500-599
	}
	uri strip_prefix /only404
	reverse_proxy `+up+`
}
route /default/* {
	upstream_errors
	uri strip_prefix /default
	reverse_proxy `+up+`
}
route /respond/* {
	upstream_errors {
		intercept 4xx
	}
	respond "no such order" 404
}`)
	direct := func(path string) (int, []byte) {
		res, err := c.Client.Get("http://" + up + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}

	res, body, id := request(t, c, "GET", "/only404/page/404")
	expectReplaced(t, c, res, body, id, replaced{problem: problem{status: 404, cause: "http_response_status", upstream: 404, detail: clientDetail(404)}})

	for _, path := range []string{"/only404/page/405", "/default/page/404", "/default/page/401", "/default/page/429"} {
		t.Run(path, func(t *testing.T) {
			upPath := path[strings.Index(path[1:], "/")+1:]
			wantStatus, wantBody := direct(upPath)
			res, body, id := request(t, c, "GET", path)
			if res.StatusCode != wantStatus || string(body) != string(wantBody) {
				t.Errorf("%d %q, want the upstream's %d %q", res.StatusCode, body, wantStatus, wantBody)
			}
			if res.Header.Get("X-Powered-By") == "" || res.Header.Get("Proxy-Status") != "" {
				t.Errorf("headers changed on a passed 4xx: %v", res.Header)
			}
			if es := c.ModuleEntries(id); len(es) != 0 {
				t.Errorf("a passed 4xx was logged: %v", es)
			}
		})
	}

	res, body, id = request(t, c, "GET", "/respond/x")
	if res.StatusCode != 404 || string(body) != "no such order" || res.Header.Get("Proxy-Status") != "" {
		t.Errorf("respond's own 404: %d %q %v, want it untouched", res.StatusCode, body, res.Header)
	}
	if es := c.ModuleEntries(id); len(es) != 0 {
		t.Errorf("respond's own 404 was logged: %v", es)
	}
}

// TestJSONErrorBodies checks pass_json: a JSON 4xx passes byte for byte by
// default and is replaced with pass_json off; a JSON 5xx is replaced by
// default and passes with pass_json 5xx.
func TestJSONErrorBodies(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacy4xx())
	c := testcaddy.StartCaddyfile(t, `route /default/* {
	upstream_errors {
		intercept 4xx 5xx
	}
	uri strip_prefix /default
	reverse_proxy `+up+`
}
route /off/* {
	upstream_errors {
		intercept 4xx 5xx
		pass_json off
	}
	uri strip_prefix /off
	reverse_proxy `+up+`
}
route /5xx/* {
	upstream_errors {
		intercept 4xx 5xx
		pass_json 5xx
	}
	uri strip_prefix /5xx
	reverse_proxy `+up+`
}`)
	passes := func(t *testing.T, path string) {
		t.Helper()
		upPath := path[strings.Index(path[1:], "/")+1:]
		want, err := c.Client.Get("http://" + up + upPath)
		if err != nil {
			t.Fatal(err)
		}
		wantBody, _ := io.ReadAll(want.Body)
		want.Body.Close()
		res, body, id := request(t, c, "GET", path)
		if res.StatusCode != want.StatusCode || string(body) != string(wantBody) {
			t.Errorf("%d %q, want the upstream's %d %q", res.StatusCode, body, want.StatusCode, wantBody)
		}
		for _, k := range []string{"Content-Type", "X-App"} {
			if got := res.Header.Get(k); got != want.Header.Get(k) {
				t.Errorf("%s = %q, want the upstream's %q", k, got, want.Header.Get(k))
			}
		}
		if v := res.Header.Get("Proxy-Status"); v != "" {
			t.Errorf("Proxy-Status %q on a passed JSON body", v)
		}
		if es := c.ModuleEntries(id); len(es) != 0 {
			t.Errorf("a passed JSON body was logged: %v", es)
		}
	}
	isReplaced := func(t *testing.T, path string, status int) {
		t.Helper()
		res, body, id := request(t, c, "GET", path)
		detail := clientDetail(status)
		if status >= 500 {
			detail = testcaddy.Detail("http_response_status", 502, status)
		}
		want := replaced{problem: problem{status: status, cause: "http_response_status", upstream: status, detail: detail}}
		if status == 500 {
			want.status = 502
		}
		expectReplaced(t, c, res, body, id, want)
	}

	for _, ct := range []string{
		"application/json",
		"application/problem+json",
		"Application/Vnd.Api+JSON; charset=utf-8",
		`application/json; profile="https://example.com/errors"`,
	} {
		q := "?ct=" + strings.NewReplacer(" ", "%20", "+", "%2B", `"`, "%22", ";", "%3B", "=", "%3D").Replace(ct)
		t.Run(strings.NewReplacer(`"`, "", "/", "-").Replace(ct), func(t *testing.T) {
			passes(t, "/default/json/422"+q)
			isReplaced(t, "/off/json/422"+q, 422)
			isReplaced(t, "/default/json/500"+q, 500)
			passes(t, "/5xx/json/500"+q)
			isReplaced(t, "/5xx/json/400"+q, 400)
		})
	}
	// not JSON, whatever the name suggests
	for _, ct := range []string{"text/json-ish", "application/jsonp", "application/json;;;", "+json", "text/html"} {
		q := "?ct=" + strings.NewReplacer("+", "%2B", ";", "%3B").Replace(ct)
		t.Run(ct, func(t *testing.T) {
			isReplaced(t, "/default/json/422"+q, 422)
		})
	}
}
