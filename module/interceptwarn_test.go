package upstreamerrors_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// TestInterceptWithout5xxWarns loads configs through Caddy and reads the
// module's warnings at load: an intercept list without 5xx lets upstream
// 5xx pages through again, and the warning says so and how to keep them.
func TestInterceptWithout5xxWarns(t *testing.T) {
	const msg = "intercept lists no 5xx status, so upstream 5xx responses pass through untouched, their error pages and stack traces included; add 5xx to the list to keep replacing them"
	for _, tc := range []struct {
		block string
		// the warning's intercept and keep_5xx fields; nil for no warning
		intercept []any
		keep      string
	}{
		{"intercept 404", []any{"404"}, "intercept 404 5xx"},
		{"intercept 4xx", []any{"4xx"}, "intercept 4xx 5xx"},
		{"intercept 401 403-404\n\t\tintercept 429", []any{"401", "403-404", "429"}, "intercept 401 403-404 429 5xx"},
		{"", nil, ""},
		{"intercept 404 5xx", nil, ""},
		{"intercept 4xx 503", nil, ""},
		{"intercept 400-500", nil, ""},
		// an explicit choice to pass everything through
		{"intercept off", nil, ""},
	} {
		t.Run(tc.block, func(t *testing.T) {
			c := testcaddy.StartCaddyfile(t, "upstream_errors {\n\t\t"+tc.block+"\n\t}\n\treverse_proxy "+testcaddy.ClosedPort(t))
			var warns []testcaddy.Entry
			for _, e := range c.Entries(testcaddy.LoggerName) {
				if e["level"] == "warn" {
					warns = append(warns, e)
				}
			}
			if tc.intercept == nil {
				if len(warns) > 0 {
					t.Errorf("warned: %v", warns)
				}
				return
			}
			if len(warns) != 1 {
				t.Fatalf("%d warnings, want 1: %v", len(warns), warns)
			}
			w := warns[0]
			if w["msg"] != msg || !reflect.DeepEqual(w["intercept"], tc.intercept) || w["passes_through"] != "5xx" || w["keep_5xx"] != tc.keep {
				t.Errorf("warning %v\nwant msg %q, intercept %v, passes_through 5xx, keep_5xx %q", w, msg, tc.intercept, tc.keep)
			}
		})
	}
}

// TestInterceptWithout5xxWarnsJSON checks the warning for a JSON config,
// whose intercept field has the same name.
func TestInterceptWithout5xxWarnsJSON(t *testing.T) {
	cfg := strings.NewReplacer(
		"HANDLER", `{"handler": "upstream_errors", "intercept": ["404"]}`,
		"UPSTREAM", testcaddy.ClosedPort(t),
	).Replace(jsonSite)
	c := testcaddy.StartJSON(t, cfg)
	var n int
	for _, e := range c.Entries(testcaddy.LoggerName) {
		if e["level"] == "warn" {
			n++
			if e["keep_5xx"] != "intercept 404 5xx" || !reflect.DeepEqual(e["intercept"], []any{"404"}) {
				t.Errorf("warning %v", e)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d warnings, want 1", n)
	}
}
