package upstreamerrors_test

import (
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// An upstream 503's Retry-After reaches the client only when it is one
// valid value within a day; otherwise the configured value is sent.
func TestUpstreamRetryAfterIsValidated(t *testing.T) {
	// the upstream answers 503 with the Retry-After lines the test asks for
	up := testcaddy.RawServer(t, func(c net.Conn, r *http.Request) {
		head := "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n"
		for _, v := range r.Header.Values("X-Send-Retry-After") {
			head += "Retry-After: " + v + "\r\n"
		}
		fmt.Fprint(c, head+"\r\n")
	})
	c := testcaddy.StartCaddyfile(t, "upstream_errors {\n\tretry_after 42\n}\nreverse_proxy "+up)

	future := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	past := time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		name string
		sent []string
		want string
	}{
		{"delta seconds", []string{"120"}, "120"},
		{"future date", []string{future}, future},
		{"markup", []string{"soon<script>"}, "42"},
		{"negative", []string{"-5"}, "42"},
		{"past date", []string{past}, "42"},
		{"over a day", []string{"86401"}, "42"},
		{"two fields", []string{"1", "2"}, "42"},
		{"none", nil, "42"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest("GET", c.URL("/"), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range tc.sent {
				req.Header.Add("X-Send-Retry-After", v)
			}
			res, err := c.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 503 {
				t.Fatalf("status = %d, want 503", res.StatusCode)
			}
			if got := res.Header.Values("Retry-After"); len(got) != 1 || got[0] != tc.want {
				t.Errorf("Retry-After = %q, want %q", got, tc.want)
			}
		})
	}
}
