package upstreamerrors_test

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

const jsonSite = `{
	"apps": {"http": {"servers": {"srv0": {
		"listen": ["127.0.0.1:PORT"],
		"routes": [{"handle": [
			HANDLER,
			{"handler": "reverse_proxy", "upstreams": [{"dial": "UPSTREAM"}]}
		]}]
	}}}}
}`

func TestJSONConfig(t *testing.T) {
	dead := testcaddy.ClosedPort(t)
	cfg := strings.NewReplacer(
		"HANDLER", `{"handler": "upstream_errors", "status_map": {"connection_refused": 504}, "retry_after": "1s"}`,
		"UPSTREAM", dead,
	).Replace(jsonSite)
	c := testcaddy.StartJSON(t, cfg)
	res, body, id := request(t, c, "GET", "/")
	expectProblem(t, c, res, body, id, problem{status: 504, cause: "connection_refused"})
}

// causeList is every cause a status_map key can name, sorted, as the
// error on an unknown key lists them.
const causeList = "connection_read_timeout, connection_refused, connection_terminated, connection_timeout, destination_overloaded, destination_unavailable, dns_error, dns_timeout, http_protocol_error, http_response_timeout, maintenance, proxy_internal_error, tls_certificate_error, tls_protocol_error, upstream_error"

// TestJSONConfigErrors loads bad handler JSON into Caddy and checks the
// end of the error: the module, whether Provision or Validate refused it,
// and a message naming the JSON field and the value.
func TestJSONConfigErrors(t *testing.T) {
	const (
		invalid   = "loading module 'upstream_errors': http.handlers.upstream_errors: invalid configuration: "
		provision = "loading module 'upstream_errors': provision http.handlers.upstream_errors: "
	)
	for _, tc := range []struct{ handler, want string }{
		{`"status_map": {"connection_refused": 200}`, invalid + `status_map: "connection_refused" maps to 200, which is not 500-599: upstream failures are answered with a 5xx status`},
		{`"status_map": {"timeout": 404}`, invalid + `status_map: "timeout" maps to 404, which is not 500-599: upstream failures are answered with a 5xx status`},
		{`"status_map": {"timeouts": 504}`, invalid + `status_map: key "timeouts" is not a cause code, "timeout", "5xx" or an upstream 5xx status; did you mean "timeout"? Cause codes: ` + causeList},
		{`"status_map": {"conection_refused": 503}`, invalid + `status_map: key "conection_refused" is not a cause code, "timeout", "5xx" or an upstream 5xx status; did you mean "connection_refused"? Cause codes: ` + causeList}, //nolint:misspell // the typo is the input
		{`"status_map": {"http_response_status": 503}`, invalid + "status_map: key \"http_response_status\" cannot be mapped: a replaced upstream response is answered by its status; map that status (as in `status 500 503`) or \"5xx\""},
		{`"status_map": {"refused": 503}`, invalid + `status_map: key "refused" is not a cause code, "timeout", "5xx" or an upstream 5xx status; cause codes: ` + causeList},
		{`"status_map": {"404": 503}`, invalid + `status_map: key "404" is not a cause code, "timeout", "5xx" or an upstream 5xx status; an upstream status key must be 500-599`},
		{`"intercept": ["5xx", "350"]`, invalid + `intercept: "350": only 4xx and 5xx upstream statuses can be intercepted`},
		{`"intercept": ["3xx"]`, invalid + `intercept: "3xx": only 4xx and 5xx upstream statuses can be intercepted`},
		{`"pass_json": ["4xx", "json"]`, invalid + `pass_json: "json" is not a status class; want 4xx or 5xx (or off for none)`},
		{`"intercept": ["five"]`, invalid + `intercept: "five" is not a status (503), range (500-504) or class (5xx) within 400-599`},
		{`"intercept": ["500"], "disable_intercept": true`, invalid + `disable_intercept: cannot be combined with intercept ["500"]`},
		{`"proxy_status_name": "edge-1", "disable_proxy_status": true`, invalid + `disable_proxy_status: cannot be combined with proxy_status_name "edge-1"`},
		{`"retry_after": "-3s"`, invalid + `retry_after: -3s must not be negative`},
		{`"retry_after": "25h"`, invalid + `retry_after: 25h0m0s is longer than the maximum, 24h0m0s`},
		{`"retry_after": "` + time.Duration(math.MaxInt64).String() + `"`, invalid + `retry_after: ` + time.Duration(math.MaxInt64).String() + ` is longer than the maximum, 24h0m0s`},
		{`"discard_limit": -1`, invalid + `discard_limit: -1 must not be negative`},
		{`"keep_headers": ["Retry-After", "Content-Encoding"]`, invalid + `keep_headers: "Content-Encoding" cannot be kept: it describes the upstream's body, which is not sent`},
		{`"keep_headers": ["transfer-encoding"]`, invalid + `keep_headers: "transfer-encoding" cannot be kept: it frames the upstream's body, which is not sent`},
		{`"templates": {"html": {"file": "/nonexistent/error.html"}}`, provision + `templates: html: open /nonexistent/error.html: no such file or directory`},
		{`"templates": {"html": {"inline": "<p>", "file": "/nonexistent/error.html"}}`, invalid + `templates: html: set inline or file, not both`},
		{`"members": {"title": "x"}`, invalid + `members: "title" must be a new, non-empty name; [type title status detail instance cause request_id] are the module's own`},
		{`"maintenance": {}`, invalid + `maintenance: window or file: a named window or a flag file is required`},
		{`"maintenance": {"allow": ["10.0.0.0/8"]}`, invalid + `maintenance: window or file: a named window or a flag file is required`},
		{`"maintenance": {"window": "../shop"}`, invalid + `maintenance: window: window name "../shop" may hold only letters, digits, '.', '-' and '_', and must start with a letter`},
		{`"maintenance": {"window": "shop", "hold": "-1s"}`, invalid + `maintenance: hold: -1s must not be negative`},
		{`"maintenance": {"window": "shop", "hold": "6m"}`, invalid + `maintenance: hold: 6m0s is longer than the maximum, 5m0s`},
		{`"maintenance": {"window": "shop", "hold_max": -1}`, invalid + `maintenance: hold_max: -1 must not be negative`},
		{`"maintenance": {"window": "shop", "bypass": [{"no_such_matcher": {}}]}`, provision + `maintenance: bypass: module name 'no_such_matcher': unknown module: http.matchers.no_such_matcher`},
		{`"maintenance": {"file": "/run/m", "allow": ["10.0.0.0/33"]}`, invalid + `maintenance: allow: "10.0.0.0/33" is not an IP address or CIDR range (such as 10.0.0.0/8)`},
		{`"maintenance": {"file": "/run/m", "allow": ["ops-vpn"]}`, invalid + `maintenance: allow: "ops-vpn" is not an IP address or CIDR range (such as 10.0.0.0/8)`},
	} {
		t.Run(tc.handler, func(t *testing.T) {
			cfg := strings.NewReplacer("HANDLER", `{"handler": "upstream_errors", `+tc.handler+`}`, "UPSTREAM", "127.0.0.1:1", "PORT", "0").Replace(jsonSite)
			err := testcaddy.LoadError([]byte(`{"admin":{"disabled":true},` + cfg[1:]))
			if err == nil {
				t.Fatal("loaded")
			}
			if !strings.HasSuffix(err.Error(), tc.want) {
				t.Errorf("\n got %v\nwant an error ending %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct{ handler, want string }{
		{`{"handler": "upstream_errors", "retry_after": "soon"}`, `http.handlers.upstream_errors: time: invalid duration "soon"`},
		{`{"handler": "upstream_errors", "colour": "red"}`, `unknown field "colour"`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			cfg := strings.NewReplacer("HANDLER", tc.handler, "UPSTREAM", "127.0.0.1:1", "PORT", "0").Replace(jsonSite)
			err := testcaddy.LoadError([]byte(`{"admin":{"disabled":true},` + cfg[1:]))
			if err == nil {
				t.Fatalf("%s: loaded", tc.handler)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s:\n got %v\nwant %q", tc.handler, err, tc.want)
			}
		})
	}
}
