package upstreamerrors_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dunglas/httpsfv"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// countingUpstream answers 200 "up" and counts the requests it gets; a
// request for /error gets a 500 page.
func countingUpstream(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	addr := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/error" {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "<h1>Fatal error</h1>")
			return
		}
		io.WriteString(w, "up")
	}))
	return addr, &hits
}

// writeFlag writes the maintenance file at path with content.
func writeFlag(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// eventually polls cond until it holds, for a state the module picks up
// from the file in the background; the bound is only there so a broken
// build fails instead of hanging.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("still not %s", what)
		}
	}
}

// statusOf requests path and returns the status and Retry-After.
func statusOf(t *testing.T, c *testcaddy.Caddy, path string, hdr ...string) (int, string) {
	t.Helper()
	res, _, _ := request(t, c, "GET", path, hdr...)
	return res.StatusCode, res.Header.Get("Retry-After")
}

// expectRetryAfterWithin asserts a Retry-After in [lo, hi] seconds.
func expectRetryAfterWithin(t *testing.T, got string, lo, hi int) {
	t.Helper()
	n, err := strconv.Atoi(got)
	if err != nil || n < lo || n > hi {
		t.Errorf("Retry-After = %q, want %d..%d seconds", got, lo, hi)
	}
}

// expectMaintenanceEntry asserts the one log entry of request id: INFO,
// since planned work is not an error, with the cause and no upstream.
func expectMaintenanceEntry(t *testing.T, c *testcaddy.Caddy, id, method, uri string) {
	t.Helper()
	entries := c.ModuleEntries(id)
	if len(entries) != 1 {
		t.Fatalf("want 1 log entry for %s, got %d: %v", id, len(entries), entries)
	}
	e := entries[0]
	if e["level"] != "info" || e["msg"] != "maintenance" {
		t.Errorf("log level/msg = %v/%v, want info/maintenance", e["level"], e["msg"])
	}
	if e["status"] != float64(503) || e["class"] != "5xx" || e["cause"] != "maintenance" {
		t.Errorf("log status/class/cause = %v/%v/%v, want 503/5xx/maintenance", e["status"], e["class"], e["cause"])
	}
	if e["method"] != method || e["uri"] != uri {
		t.Errorf("log method/uri = %v %v, want %s %s", e["method"], e["uri"], method, uri)
	}
	if _, ok := e["upstream"]; ok {
		t.Errorf("log names an upstream for a request that reached none: %v", e)
	}
}

// While the file exists every request is answered 503 in the module's
// contract, in each format, and the upstream is never asked.
func TestMaintenanceAnswers(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "maintenance")
	end := time.Now().Add(90 * time.Minute).UTC().Truncate(time.Second)
	writeFlag(t, flag, end.Format(time.RFC3339)+"\n")
	up, hits := countingUpstream(t)
	c := testcaddy.StartCaddyfile(t, fmt.Sprintf("upstream_errors {\n\tmaintenance %s\n\tretry_after 42\n}\nreverse_proxy %s", flag, up),
		testcaddy.Options{Admin: true})
	const series = `caddy_http_upstream_errors_total{cause="maintenance",class="5xx",server="srv0",status="503"}`
	counted := scrape(t, c, series)

	t.Run("problem", func(t *testing.T) {
		before := time.Now()
		res, body, id := request(t, c, "GET", "/orders?id=1")
		after := time.Now()
		if res.StatusCode != 503 {
			t.Fatalf("status = %d, want 503; body: %s", res.StatusCode, body)
		}
		expectProblemFields(t, res, id)
		var p testcaddy.Problem
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			t.Fatalf("body is not the problem object: %v\n%s", err, body)
		}
		want := testcaddy.Problem{
			Type: "about:blank", Title: "Service Unavailable", Status: 503,
			Detail: "The service is down for planned maintenance.", Instance: "/orders", Cause: "maintenance", RequestID: id,
		}
		if p != want {
			t.Errorf("problem = %+v\nwant      %+v", p, want)
		}
		l, err := httpsfv.UnmarshalList([]string{res.Header.Get("Proxy-Status")})
		if err != nil || len(l) != 1 {
			t.Fatalf("Proxy-Status %q: %v", res.Header.Get("Proxy-Status"), err)
		}
		item := l[0].(httpsfv.Item)
		if e, _ := item.Params.Get("error"); item.Value != httpsfv.Token("caddy") || e != httpsfv.Token("destination_unavailable") {
			t.Errorf("Proxy-Status = %q, want caddy with error destination_unavailable", res.Header.Get("Proxy-Status"))
		}
		lo, hi := secondsLeft(end, before, after)
		expectRetryAfterWithin(t, res.Header.Get("Retry-After"), lo, hi)
		expectMaintenanceEntry(t, c, id, "GET", "/orders?id=1")
	})

	for _, tc := range []struct{ accept, contentType string }{
		{"application/json", "application/json"},
		{"text/html", "text/html; charset=utf-8"},
		{"text/plain", "text/plain; charset=utf-8"},
	} {
		t.Run(tc.accept, func(t *testing.T) {
			res, body, id := request(t, c, "GET", "/page", "Accept", tc.accept)
			if res.StatusCode != 503 || res.Header.Get("Content-Type") != tc.contentType {
				t.Fatalf("%d %q, want 503 %s", res.StatusCode, res.Header.Get("Content-Type"), tc.contentType)
			}
			if !strings.Contains(string(body), "The service is down for planned maintenance.") {
				t.Errorf("body lacks the maintenance sentence:\n%s", body)
			}
			if tc.accept == "text/html" {
				// an hour and a half to go: the page looks again in the
				// longest refresh, five minutes
				if refresh, icon := headElements(t, body); refresh != "300" || icon != "data:," {
					t.Errorf("page refresh %q and icon %q, want 300 and data:,", refresh, icon)
				}
			}
			expectMaintenanceEntry(t, c, id, "GET", "/page")
		})
	}

	t.Run("HEAD", func(t *testing.T) {
		res, body, id := request(t, c, "HEAD", "/")
		if res.StatusCode != 503 || len(body) != 0 {
			t.Errorf("HEAD: %d with %d body bytes, want 503 and none", res.StatusCode, len(body))
		}
		expectMaintenanceEntry(t, c, id, "HEAD", "/")
	})

	if n := hits.Load(); n != 0 {
		t.Errorf("the upstream got %d requests during maintenance", n)
	}
	// one request in each of the five subtests
	if got := scrape(t, c, series); got != counted+5 {
		t.Errorf("%s went from %v to %v, want +5", series, counted, got)
	}
}

// A gRPC client gets UNAVAILABLE with the maintenance sentence, as it
// would for an upstream that is down.
func TestMaintenanceGRPC(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "maintenance")
	writeFlag(t, flag, "")
	addr, _ := testcaddy.GRPCHealthServer(t)
	c := testcaddy.StartCaddyfile(t, fmt.Sprintf("upstream_errors {\n\tmaintenance %s\n}\nreverse_proxy h2c://%s", flag, addr), h2cServers)
	cc := testcaddy.GRPCClient(t, fmt.Sprintf("127.0.0.1:%d", c.Port))
	call := grpcCheck(t, cc, "")
	if call.st.Code() != codes.Unavailable || call.st.Message() != "The service is down for planned maintenance." {
		t.Errorf("gRPC status = %v %q, want UNAVAILABLE and the maintenance sentence", call.st.Code(), call.st.Message())
	}
	if ps := call.md.Get("proxy-status"); len(ps) != 1 || canonicalSF(t, ps[0]) != canonicalSF(t, "caddy; error=destination_unavailable") {
		t.Errorf("proxy-status = %q", ps)
	}
	entries := c.ModuleEntries(call.id)
	if len(entries) != 1 || entries[0]["cause"] != "maintenance" || entries[0]["level"] != "info" {
		t.Errorf("log entries = %v, want one INFO maintenance entry", entries)
	}
}

// Creating, changing and deleting the file take effect without a reload.
func TestMaintenanceToggles(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "maintenance")
	up, hits := countingUpstream(t)
	c := testcaddy.StartCaddyfile(t, fmt.Sprintf("upstream_errors {\n\tmaintenance %s\n\tretry_after 42\n}\nreverse_proxy %s", flag, up))

	if s, _ := statusOf(t, c, "/"); s != 200 || hits.Load() != 1 {
		t.Fatalf("without the file: %d, upstream hit %d times; want 200 from the upstream", s, hits.Load())
	}

	writeFlag(t, flag, "")
	eventually(t, "in maintenance after the file was created", func() bool {
		s, _ := statusOf(t, c, "/")
		return s == 503
	})
	if s, ra := statusOf(t, c, "/"); s != 503 || ra != "42" {
		t.Errorf("empty file: %d with Retry-After %q, want 503 with the configured 42", s, ra)
	}

	end := time.Now().Add(10 * time.Minute).UTC().Truncate(time.Second)
	writeFlag(t, flag, end.Format(time.RFC3339))
	eventually(t, "counting down to the end the file was changed to", func() bool {
		_, ra := statusOf(t, c, "/")
		return ra != "42"
	})
	before := time.Now()
	s, ra := statusOf(t, c, "/")
	lo, hi := secondsLeft(end, before, time.Now())
	if s != 503 {
		t.Errorf("status = %d, want 503", s)
	}
	expectRetryAfterWithin(t, ra, lo, hi)

	served := hits.Load()
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	eventually(t, "serving after the file was deleted", func() bool {
		s, _ := statusOf(t, c, "/")
		return s == 200
	})
	if hits.Load() <= served {
		t.Error("the upstream got no request after the window ended")
	}
}

// The file's content sets Retry-After: the seconds left until the end
// it names, at most a day; anything else sends retry_after.
func TestMaintenanceWindowEnd(t *testing.T) {
	soon := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	for _, tc := range []struct {
		name, content string
		end           time.Time // zero: the configured 42 is sent
		day           bool      // the end is over a day away: 86400
		warn          bool      // the content is logged once as not a time
	}{
		{name: "RFC 3339", content: soon.UTC().Format(time.RFC3339) + "\n", end: soon},
		{name: "RFC 3339 with an offset", content: soon.In(time.FixedZone("", 2*3600)).Format(time.RFC3339), end: soon},
		{name: "HTTP-date", content: soon.UTC().Format(http.TimeFormat), end: soon},
		{name: "over a day away", content: time.Now().Add(72 * time.Hour).UTC().Format(time.RFC3339), day: true},
		{name: "empty"},
		{name: "blank line", content: "\n"},
		{name: "past", content: time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)},
		{name: "not a time", content: "back after lunch\n", warn: true},
		{name: "too long", content: strings.Repeat("x", 4096), warn: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			flag := filepath.Join(t.TempDir(), "maintenance")
			writeFlag(t, flag, tc.content)
			c := testcaddy.StartCaddyfile(t, fmt.Sprintf("upstream_errors {\n\tmaintenance %s\n\tretry_after 42\n}\nreverse_proxy %s", flag, testcaddy.ClosedPort(t)))
			for range 5 {
				before := time.Now()
				s, ra := statusOf(t, c, "/")
				after := time.Now()
				if s != 503 {
					t.Fatalf("status = %d, want 503", s)
				}
				switch {
				case tc.day:
					if ra != "86400" {
						t.Errorf("Retry-After = %q, want a day, 86400", ra)
					}
				case !tc.end.IsZero():
					lo, hi := secondsLeft(tc.end, before, after)
					expectRetryAfterWithin(t, ra, lo, hi)
				default:
					if ra != "42" {
						t.Errorf("Retry-After = %q, want the configured 42", ra)
					}
				}
			}
			var warns []testcaddy.Entry
			for _, e := range c.Entries(testcaddy.LoggerName) {
				if e["level"] == "warn" {
					warns = append(warns, e)
				}
			}
			switch {
			case !tc.warn && len(warns) != 0:
				t.Errorf("warnings for readable content: %v", warns)
			case tc.warn && (len(warns) != 1 || warns[0]["file"] != flag):
				t.Errorf("want one warning naming %s, got %v", flag, warns)
			}
		})
	}
}

// Allowed client IPs still reach the upstream, and only Caddy's client IP
// counts: X-Forwarded-For only from a trusted proxy.
func TestMaintenanceAllow(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "maintenance")
	writeFlag(t, flag, "")
	up, hits := countingUpstream(t)
	site := func(allow string) string {
		return fmt.Sprintf("upstream_errors {\n\tmaintenance %s {\n\t\tallow %s\n\t}\n}\nreverse_proxy %s", flag, allow, up)
	}

	t.Run("direct client", func(t *testing.T) {
		c := testcaddy.StartCaddyfile(t, site("10.0.0.0/8 127.0.0.1"))
		if s, _ := statusOf(t, c, "/"); s != 200 {
			t.Errorf("allowed client: %d, want the upstream's 200", s)
		}
		// the module still answers the allowed client's upstream failures
		res, body, id := request(t, c, "GET", "/error")
		expectProblem(t, c, res, body, id, problem{status: 502, cause: "http_response_status", upstream: 500})

		c.Reload(site("10.0.0.0/8"))
		if s, _ := statusOf(t, c, "/", "X-Forwarded-For", "10.1.2.3"); s != 503 {
			t.Errorf("X-Forwarded-For from an untrusted peer: %d, want 503", s)
		}
	})

	t.Run("behind a trusted proxy", func(t *testing.T) {
		c := testcaddy.StartCaddyfile(t, site("10.0.0.0/8 192.0.2.7"),
			testcaddy.Options{Global: "servers {\n\ttrusted_proxies static 127.0.0.1/32\n}"})
		for _, tc := range []struct {
			forwarded string
			want      int
		}{
			{"10.1.2.3", 200},
			{"192.0.2.7", 200},
			{"192.0.2.8", 503},
			{"", 503}, // the proxy itself, 127.0.0.1, is not allowed
		} {
			var hdr []string
			if tc.forwarded != "" {
				hdr = []string{"X-Forwarded-For", tc.forwarded}
			}
			before := hits.Load()
			s, _ := statusOf(t, c, "/", hdr...)
			if reached := hits.Load() > before; s != tc.want || reached != (tc.want == 200) {
				t.Errorf("client %q: %d, upstream reached: %v; want %d", tc.forwarded, s, reached, tc.want)
			}
		}
	})
}

// One upstream_errors at the top of a site covers every handle block.
func TestMaintenanceOverHandleBlocks(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "maintenance")
	writeFlag(t, flag, "")
	up, hits := countingUpstream(t)
	c := testcaddy.StartCaddyfile(t, fmt.Sprintf(`upstream_errors {
	maintenance %s
}
handle /api/* {
	reverse_proxy %[2]s
}
handle {
	reverse_proxy %[2]s
}`, flag, up))
	for _, path := range []string{"/api/orders", "/account"} {
		res, _, id := request(t, c, "GET", path)
		if res.StatusCode != 503 {
			t.Errorf("%s: %d, want 503", path, res.StatusCode)
			continue
		}
		expectMaintenanceEntry(t, c, id, "GET", path)
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the upstream got %d requests", n)
	}
}

// watchers counts the goroutines watching a maintenance file.
func watchers() int {
	return bytes.Count(allStacks(), []byte("(*maintenanceWatch).run("))
}

// A reload replaces the handler, and the old one stops watching: one
// goroutine per live handler, none once Caddy stops.
func TestMaintenanceReloadStopsWatching(t *testing.T) {
	existing := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		goleak.VerifyNone(t, existing,
			goleak.IgnoreTopFunction("github.com/DeRuina/timberjack.(*Logger).millRun"),
			goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"),
		)
	})
	dir := t.TempDir()
	up, _ := countingUpstream(t)
	site := func(name string) string {
		return fmt.Sprintf("upstream_errors {\n\tmaintenance %s\n}\nreverse_proxy %s", filepath.Join(dir, name), up)
	}
	writeFlag(t, filepath.Join(dir, "a"), "")
	c := testcaddy.StartCaddyfile(t, site("a"))
	if s, _ := statusOf(t, c, "/"); s != 503 {
		t.Fatalf("with file a: %d, want 503", s)
	}
	for _, name := range []string{"b", "c", "b"} {
		c.Reload(site(name))
		eventually(t, "down to one watcher after a reload", func() bool { return watchers() == 1 })
		if s, _ := statusOf(t, c, "/"); s != 200 {
			t.Errorf("watching absent file %s: %d, want 200", name, s)
		}
	}
	writeFlag(t, filepath.Join(dir, "b"), "")
	eventually(t, "in maintenance after the reloaded config's file was created", func() bool {
		s, _ := statusOf(t, c, "/")
		return s == 503
	})
}
