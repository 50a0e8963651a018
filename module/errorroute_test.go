package upstreamerrors_test

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// bcrypt of "open sesame"
const basicAuthHash = "$2a$04$usHqcUD6vKcJDutUEnAwM.U43vpnMAi/9VmrNTAIf9n0hlaImnRRO"

// TestSiteErrorsInErrorRoute checks handle_errors { upstream_errors }: the
// site's own errors get the problem body, kept status, cause, fields the
// site set, log entry and metric; an upstream failure that reached the
// error route is classified as usual.
func TestSiteErrorsInErrorRoute(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("<p>home</p>"), 0o600); err != nil {
		t.Fatal(err)
	}
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	c := testcaddy.StartCaddyfile(t, `handle /files/* {
	root * `+root+`
	uri strip_prefix /files
	file_server
}
handle /wrapped/* {
	upstream_errors
	root * `+root+`
	uri strip_prefix /wrapped
	file_server
}
handle /private/* {
	basic_auth {
		alice `+basicAuthHash+`
	}
	respond "secret"
}
handle /forbidden {
	error "not for you" 403
}
handle /maintenance {
	header Retry-After 3600
	error "Down for maintenance" 503
}
handle /busy {
	header Retry-After 7
	error 429
}
handle /boom {
	error "kaboom at 10.1.2.3" 500
}
handle /unimplemented {
	error 501
}
handle /dead {
	reverse_proxy `+testcaddy.ClosedPort(t)+`
}
handle /closed {
	reverse_proxy `+up+` {
		@ok status 2xx
		handle_response @ok {
			error "closed for the night" 503
		}
	}
}
handle_errors {
	upstream_errors {
		retry_after 20s
	}
}`, testcaddy.Options{Admin: true})

	for _, tc := range []struct {
		path   string
		status int
		cause  string
		detail string
		kept   map[string]string
	}{
		{"/files/missing.html", 404, "http_request_error", clientDetail(404), nil},
		// the main route's module leaves file_server's error to the error
		// route: one response, one log entry
		{"/wrapped/missing.html", 404, "http_request_error", clientDetail(404), nil},
		{"/private/x", 401, "http_request_denied", clientDetail(401), map[string]string{"Www-Authenticate": `Basic realm="restricted"`}},
		{"/forbidden", 403, "http_request_denied", clientDetail(403), nil},
		{"/maintenance", 503, "proxy_internal_response", testcaddy.LocalServerDetails[503], map[string]string{"Retry-After": "3600"}},
		{"/busy", 429, "http_request_denied", clientDetail(429), map[string]string{"Retry-After": "7"}},
		{"/boom", 500, "proxy_internal_error", testcaddy.LocalServerDetails[500], nil},
		{"/unimplemented", 501, "proxy_internal_response", "The server does not support what the request needs.", nil},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body, id := request(t, c, "GET", tc.path)
			expectReplaced(t, c, res, body, id, replaced{
				problem: problem{status: tc.status, cause: tc.cause, detail: tc.detail},
				local:   true,
				kept:    tc.kept,
			})
		})
	}

	t.Run("the handled error is in the log, not the body", func(t *testing.T) {
		_, body, id := request(t, c, "GET", "/boom")
		if strings.Contains(string(body), "kaboom") {
			t.Errorf("body has the error message: %s", body)
		}
		es := c.ModuleEntries(id)
		if len(es) != 1 || es[0]["error"] != "kaboom at 10.1.2.3" {
			t.Errorf("log entries %v, want one with the error's message", es)
		}
	})

	t.Run("an error after a proxied response names no upstream", func(t *testing.T) {
		res, body, id := request(t, c, "GET", "/closed")
		expectReplaced(t, c, res, body, id, replaced{
			problem: problem{status: 503, cause: "proxy_internal_response", detail: testcaddy.LocalServerDetails[503]},
			local:   true,
			kept:    map[string]string{"Retry-After": "20"},
		})
		for _, e := range c.ModuleEntries(id) {
			if u, ok := e["upstream"]; ok {
				t.Errorf("log names upstream %v for the site's own error", u)
			}
		}
	})

	t.Run("upstream failure in the error route", func(t *testing.T) {
		res, body, id := request(t, c, "GET", "/dead")
		expectReplaced(t, c, res, body, id, replaced{
			problem: problem{status: 502, cause: "connection_refused", detail: testcaddy.Details["connection_refused"]},
		})
	})

	t.Run("a browser gets the page", func(t *testing.T) {
		res, body, _ := request(t, c, "GET", "/files/missing.html", "Accept", "text/html")
		if res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
			!strings.Contains(string(body), clientDetail(404)) {
			t.Errorf("%d %q\n%s", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
	})

	t.Run("pages that work pass", func(t *testing.T) {
		req, _ := http.NewRequest("GET", c.URL("/private/x"), nil)
		req.SetBasicAuth("alice", "open sesame")
		res, err := c.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Errorf("authorized request: %d", res.StatusCode)
		}
		res, _, _ = request(t, c, "GET", "/files/")
		if res.StatusCode != 200 {
			t.Errorf("file_server index: %d", res.StatusCode)
		}
	})

	t.Run("metric class", func(t *testing.T) {
		for _, s := range []struct{ series, path string }{
			{`caddy_http_upstream_errors_total{cause="http_request_error",class="4xx",server="srv0",status="404"}`, "/files/nope"},
			{`caddy_http_upstream_errors_total{cause="proxy_internal_response",class="5xx",server="srv0",status="503"}`, "/maintenance"},
		} {
			t.Run(s.path, func(t *testing.T) {
				before := scrape(t, c, s.series)
				request(t, c, "GET", s.path)
				if after := scrape(t, c, s.series); after != before+1 {
					t.Errorf("%s went from %v to %v, want +1", s.series, before, after)
				}
			})
		}
	})
}

// TestErrorRouteSettings checks that the error route's own settings
// (members, templates, retry_after, format) apply to the site's errors.
func TestErrorRouteSettings(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, `handle /maintenance {
	error "Down for maintenance" 503
}
handle /missing {
	error 404
}
handle_errors {
	upstream_errors {
		retry_after 20s
		member status_page https://status.example.com
		template text inline "{{.Status}} {{.Cause}}: {http.error.message}"
	}
}`)
	res, body, _ := request(t, c, "GET", "/maintenance")
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if res.StatusCode != 503 || m["status_page"] != "https://status.example.com" || m["cause"] != "proxy_internal_response" {
		t.Errorf("%d %v", res.StatusCode, m)
	}
	// no Retry-After set by the site: the configured one
	if ra := res.Header.Get("Retry-After"); ra != "20" {
		t.Errorf("Retry-After = %q, want the configured 20", ra)
	}
	res, body, _ = request(t, c, "GET", "/maintenance", "Accept", "text/plain")
	if want := "503 proxy_internal_response: Down for maintenance"; res.StatusCode != 503 || string(body) != want {
		t.Errorf("%d %q, want 503 %q", res.StatusCode, body, want)
	}
	res, _, _ = request(t, c, "GET", "/missing")
	if ra := res.Header.Get("Retry-After"); ra != "" {
		t.Errorf("Retry-After %q on a 404", ra)
	}
}
