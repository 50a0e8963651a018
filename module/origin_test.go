package upstreamerrors_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// TestOriginSignals fails loudly if Caddy changes either signal the module
// reads to tell an upstream's doing from any other handler's: the trace of
// every error reverse_proxy returns starts with "reverseproxy.", and
// {http.reverse_proxy.status_code} holds the upstream's status by the time
// the proxy prepares the upstream's response head.
func TestOriginSignals(t *testing.T) {
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
	}))
	c := testcaddy.StartCaddyfile(t, `handle /dead {
	reverse_proxy `+testcaddy.ClosedPort(t)+`
}
handle /fcgi {
	reverse_proxy `+testcaddy.ClosedPort(t)+` {
		transport fastcgi
	}
}
handle /error {
	error "not the proxy" 503
}
handle {
	reverse_proxy `+up+` {
		header_down X-Seen-Status {http.reverse_proxy.status_code}
	}
}
handle_errors {
	header X-Trace "{err.trace}"
	respond "handled"
}`)
	for path, proxy := range map[string]bool{"/dead": true, "/fcgi": true, "/error": false} {
		t.Run(path, func(t *testing.T) {
			res, _, _ := request(t, c, "GET", path)
			trace := res.Header.Get("X-Trace")
			if got := strings.HasPrefix(trace, "reverseproxy."); got != proxy || trace == "" {
				t.Errorf("error trace %q: from reverseproxy = %v, want %v; the module's origin check needs updating", trace, got, proxy)
			}
		})
	}
	res, _, _ := request(t, c, "GET", "/")
	if got := res.Header.Get("X-Seen-Status"); res.StatusCode != http.StatusTeapot || got != "418" {
		t.Errorf("status %d, {http.reverse_proxy.status_code} = %q before the head was written, want 418", res.StatusCode, got)
	}
}

// TestOtherHandlersPassUntouched checks that responses and errors of
// handlers other than reverse_proxy pass as they are, in a route (written
// order) and for handlers that sort after the directive, while an
// upstream's 503 in the same config is still normalized.
func TestOtherHandlersPassUntouched(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	root := t.TempDir()
	c := testcaddy.StartCaddyfile(t, `route /route/* {
	upstream_errors
	error /route/error "Down for maintenance" 503
	respond /route/respond "busy" 503
	reverse_proxy `+up+` {
		rewrite /status/503
	}
}
handle /files/* {
	upstream_errors
	root * `+root+`
	file_server
}
handle_errors {
	respond "handled {err.status_code} {err.message}" {err.status_code}
}`)

	for _, tc := range []struct {
		path   string
		status int
		body   string
	}{
		// handle_errors ran, with the error as the handler made it
		{"/route/error", 503, "handled 503 Down for maintenance"},
		{"/route/respond", 503, "busy"},
		{"/files/missing.html", 404, "handled 404 "},
	} {
		t.Run(tc.path, func(t *testing.T) {
			res, body, id := request(t, c, "GET", tc.path)
			if res.StatusCode != tc.status || !strings.HasPrefix(string(body), tc.body) {
				t.Errorf("%d %q, want %d %q", res.StatusCode, body, tc.status, tc.body)
			}
			if v := res.Header.Values("Proxy-Status"); len(v) != 0 {
				t.Errorf("Proxy-Status %q on another handler's response", v)
			}
			if es := c.ModuleEntries(id); len(es) != 0 {
				t.Errorf("the module logged another handler's response: %v", es)
			}
		})
	}
	res, body, id := request(t, c, "GET", "/route/up")
	expectProblem(t, c, res, body, id, problem{status: 503, cause: "http_response_status", upstream: 503})
}

// TestStaleUpstreamStatusIsIgnored checks that a status left by an
// earlier reverse_proxy in the route does not make the module take a
// later handler's response for an upstream's.
func TestStaleUpstreamStatusIsIgnored(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	c := testcaddy.StartCaddyfile(t, `route {
	reverse_proxy `+up+` {
		rewrite /status/503
		@unavailable status 503
		handle_response @unavailable {
			vars checked yes
		}
	}
	upstream_errors
	respond "maintenance page" 503
}`)
	res, err := c.Client.Get(c.URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 503 || string(body) != "maintenance page" {
		t.Errorf("%d %q, want the respond handler's own 503", res.StatusCode, body)
	}
}

// TestOtherHandlersPassUntouchedInJSON checks the same for handlers put
// straight after the module in a JSON route, as a handle block would.
func TestOtherHandlersPassUntouchedInJSON(t *testing.T) {
	c := testcaddy.StartJSON(t, `{"apps": {"http": {"servers": {"srv0": {
	"listen": ["127.0.0.1:PORT"],
	"routes": [
		{"match": [{"path": ["/static"]}], "handle": [
			{"handler": "upstream_errors"},
			{"handler": "static_response", "status_code": 503, "body": "busy"}
		]},
		{"match": [{"path": ["/error"]}], "handle": [
			{"handler": "upstream_errors"},
			{"handler": "error", "error": "Down for maintenance", "status_code": 503}
		]}
	],
	"errors": {"routes": [{"handle": [
		{"handler": "static_response", "status_code": "{http.error.status_code}", "body": "handled {http.error.message}"}
	]}]}
}}}}}`)
	for path, want := range map[string]string{"/static": "busy", "/error": "handled Down for maintenance"} {
		t.Run(path, func(t *testing.T) {
			res, body, id := request(t, c, "GET", path)
			if res.StatusCode != 503 || string(body) != want {
				t.Errorf("%d %q, want 503 %q", res.StatusCode, body, want)
			}
			if es := c.ModuleEntries(id); len(es) != 0 {
				t.Errorf("the module logged another handler's response: %v", es)
			}
		})
	}
}
