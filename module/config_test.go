package upstreamerrors_test

import (
	"strings"
	"testing"

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

func TestJSONConfigErrors(t *testing.T) {
	for _, tc := range []struct{ handler, want string }{
		{`{"handler": "upstream_errors", "status_map": {"connection_refused": 200}}`, `loading module 'upstream_errors': http.handlers.upstream_errors: invalid configuration: status_map "connection_refused": target 200 is not a 5xx status`},
		{`{"handler": "upstream_errors", "status_map": {"timeouts": 504}}`, `status_map: unknown key "timeouts"`},
		{`{"handler": "upstream_errors", "intercept": ["5xx", "350"]}`, `intercept "350": only 4xx and 5xx upstream statuses can be intercepted`},
		{`{"handler": "upstream_errors", "intercept": ["3xx"]}`, `intercept "3xx": only 4xx and 5xx upstream statuses can be intercepted`},
		{`{"handler": "upstream_errors", "pass_json": ["4xx", "json"]}`, `pass_json "json": want 4xx or 5xx`},
		{`{"handler": "upstream_errors", "pass_json": "4xx"}`, `pass_json`},
		{`{"handler": "upstream_errors", "intercept": ["five"]}`, `intercept: "five" is not an HTTP status code`},
		{`{"handler": "upstream_errors", "retry_after": "-3s"}`, `retry_after -3s: must not be negative`},
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
