package upstreamerrors_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// chaosRoute is one route of the chaos site and what it must answer.
type chaosRoute struct {
	path   string
	site   string
	status int
	cause  string // empty for a healthy route
	body   []byte // exact body of a healthy route
	// alternative answer: the pool route refuses until its only upstream
	// is marked down, then answers 503
	altStatus int
	altCause  string
}

func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("chaos run skipped in -short mode")
	}
	// goroutines running now are not this test's; the check is registered
	// first so it runs last, after Caddy and every upstream stopped
	existing := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		goleak.VerifyNone(t,
			existing,
			// Caddy's own background work, not per request: the log file
			// writer's rotation goroutine and a storage lock refresher
			goleak.IgnoreTopFunction("github.com/DeRuina/timberjack.(*Logger).millRun"),
			goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"),
		)
	})

	okBody := bytes.Repeat([]byte("healthy "), 512)
	healthy := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/500" {
			w.Header().Set("X-Powered-By", "PHP/5.3.3")
			w.WriteHeader(500)
			io.WriteString(w, "<pre>Fatal error in /var/www/index.php</pre>")
			return
		}
		w.Write(okBody)
	}))
	proxy := func(addr, transport string) string { return proxyTo(addr, transport) }
	routes := []chaosRoute{
		{path: "/ok/", site: proxy(healthy, ""), status: 200, body: okBody},
		{path: "/ok2/", site: proxy(healthy, ""), status: 200, body: okBody},
		{path: "/err500/", site: proxy(healthy, ""), status: 502, cause: "http_response_status"},
		{path: "/refused/", site: proxy(testcaddy.ClosedPort(t), ""), status: 502, cause: "connection_refused"},
		{path: "/reset/", site: proxy(testcaddy.RawServer(t, testcaddy.Reset), ""), status: 502, cause: "connection_terminated"},
		{path: "/garbage/", site: proxy(testcaddy.RawServer(t, testcaddy.Reply("garbage\r\n\r\n")), ""), status: 502, cause: "http_protocol_error"},
		{path: "/hang/", site: proxy(testcaddy.RawServer(t, testcaddy.Hang), "response_header_timeout 200ms"), status: 504, cause: "http_response_timeout"},
		{path: "/dial/", site: proxy(testcaddy.FullBacklog(t), "dial_timeout 200ms"), status: 504, cause: "connection_timeout"},
		{path: "/dns/", site: proxy("legacy.test:80", "resolvers "+testcaddy.ClosedPort(t)), status: 502, cause: "dns_error"},
		{path: "/early/", site: proxy(testcaddy.RawServer(t, func(net.Conn, *http.Request) {}), ""), status: 502, cause: "connection_terminated"},
		{path: "/header/", site: proxy(testcaddy.RawServer(t, testcaddy.Reply("HTTP/1.1 200 OK\r\nBroken header\r\n\r\n")), ""), status: 502, cause: "http_protocol_error"},
		{path: "/tls/", site: proxy(healthy, "tls\n\t\ttls_insecure_skip_verify"), status: 502, cause: "tls_protocol_error"},
		{
			path:   "/pool/",
			site:   "reverse_proxy " + testcaddy.ClosedPort(t) + " {\n\tfail_duration 1m\n\tmax_fails 1\n}",
			status: 503, cause: "destination_unavailable", altStatus: 502, altCause: "connection_refused",
		},
	}
	var site bytes.Buffer
	for i, r := range routes {
		if r.path == "/err500/" {
			fmt.Fprintf(&site, "handle_path %s* {\n\trewrite * /500\n\tupstream_errors\n\t%s\n}\n", r.path, r.site)
			continue
		}
		fmt.Fprintf(&site, "handle_path %s* {\n\tupstream_errors\n\t%s\n}\n", r.path, r.site)
		_ = i
	}
	c := testcaddy.StartCaddyfile(t, site.String())
	c.Client.Transport.(*http.Transport).MaxIdleConnsPerHost = 64

	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)

	const total, workers = 3000, 64
	var (
		next     atomic.Int64
		failures atomic.Int64
		poolDown atomic.Int64
		wg       sync.WaitGroup
	)
	deadline := time.Now().Add(2 * time.Minute)
	for range workers {
		wg.Go(func() {
			for {
				n := next.Add(1)
				if n > total || time.Now().After(deadline) {
					return
				}
				r := routes[int(n)%len(routes)]
				status, err := chaosCheck(c, r, n)
				if r.path == "/pool/" && status == 503 {
					poolDown.Add(1)
				}
				if err != nil {
					if failures.Add(1) <= 10 {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if n := next.Load(); n <= total {
		t.Fatalf("only %d of %d requests ran in time", n, total)
	}
	if f := failures.Load(); f > 0 {
		t.Fatalf("%d of %d responses were wrong", f, total)
	}
	if poolDown.Load() == 0 {
		t.Error("the pool never ran out of healthy upstreams")
	}

	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	if grew := int64(after.HeapInuse) - int64(before.HeapInuse); grew > 64<<20 {
		t.Errorf("heap grew by %d MiB over the run", grew>>20)
	}
	c.Client.CloseIdleConnections()
}

// chaosCheck sends request n to route r and checks the response.
func chaosCheck(c *testcaddy.Caddy, r chaosRoute, n int64) (int, error) {
	req, _ := http.NewRequest("GET", c.URL(r.path+"x"), nil)
	id := fmt.Sprintf("chaos-%d", n)
	req.Header.Set("X-Request-ID", id)
	res, err := c.Client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", r.path, err)
	}
	status := res.StatusCode
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		return status, fmt.Errorf("%s: reading body: %v", r.path, err)
	}
	if r.altStatus != 0 && res.StatusCode == r.altStatus {
		r.status, r.cause = r.altStatus, r.altCause
	}
	if res.StatusCode != r.status {
		return status, fmt.Errorf("%s: status %d, want %d: %s", r.path, res.StatusCode, r.status, body)
	}
	if r.cause == "" {
		if !bytes.Equal(body, r.body) {
			return status, fmt.Errorf("%s: healthy body differs (%d bytes)", r.path, len(body))
		}
		return status, nil
	}
	var p testcaddy.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		return status, fmt.Errorf("%s: invalid body %q: %v", r.path, body, err)
	}
	if p.Status != r.status || p.Cause != r.cause || p.RequestID != id || res.Header.Get("Content-Type") != "application/problem+json" {
		return status, fmt.Errorf("%s: problem %+v", r.path, p)
	}
	return status, nil
}
