package upstreamerrors_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// Every Accept field line of a real request counts, and a quoted
// parameter cannot refuse a format.
func TestAcceptFieldLines(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+testcaddy.ClosedPort(t),
		testcaddy.Options{Global: "servers {\n\tmax_header_size 512KB\n}"})
	for _, tc := range []struct {
		name   string
		accept []string
		want   string
	}{
		{"second line", []string{"image/png", "application/json"}, "application/json"},
		{"refusal on the second line", []string{"*/*", "application/problem+json;q=0"}, "application/json"},
		{"quoted parameter", []string{`text/html;charset="a;q=0"`}, "text/html; charset=utf-8"},
		{"300 KB header", []string{strings.Repeat("text/plain;q=0, */*;q=0.1, ", 300<<10/26) + "text/html;q=0.5"}, "text/html; charset=utf-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", c.URL("/"), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header["Accept"] = tc.accept
			res, err := c.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 502 {
				t.Fatalf("status %d", res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tc.want {
				t.Errorf("Content-Type = %q, want %q", got, tc.want)
			}
		})
	}
}
