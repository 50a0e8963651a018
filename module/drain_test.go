package upstreamerrors_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// TestStalledErrorBodyIsAbandoned checks that an intercepted body that
// stops arriving holds neither the client nor the upstream connection past
// the discard window, for many requests at once.
func TestStalledErrorBodyIsAbandoned(t *testing.T) {
	cases := []struct {
		name, head       string
		status, upstream int
	}{
		{"within-limit", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 1000\r\n\r\npartial", 502, 500},
		{"over-limit", "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 100000000\r\n\r\n", 502, 500},
		{"chunked", "HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", 503, 503},
	}
	// every upstream reports on the one channel when the proxy hangs up
	closed := make(chan struct{}, 1024)
	site := ""
	for _, tc := range cases {
		up := testcaddy.RawServer(t, func(c net.Conn, r *http.Request) {
			io.WriteString(c, tc.head)
			testcaddy.Hang(c, r)
			closed <- struct{}{}
		})
		site += fmt.Sprintf("handle_path /%s/* {\n\tupstream_errors\n\treverse_proxy %s\n}\n", tc.name, up)
	}
	c := testcaddy.StartCaddyfile(t, site)

	const n = 51
	// the upstreams stall until the test ends, so the module must let go
	// of all of them within the window; a small multiple of it allows for
	// a busy machine and still fails a window that quietly grew to the
	// default second
	bound := 4 * upstreamerrors.DiscardTime()
	if upstreamerrors.RaceEnabled() {
		// 51 requests through an instrumented Caddy; a window grown to
		// the default second still fails the run without the detector
		bound *= 2
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		tc := cases[i%len(cases)]
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, "GET", c.URL(fmt.Sprintf("/%s/stall/%d", tc.name, i)), nil)
			res, err := c.Client.Do(req)
			if err != nil {
				errs <- fmt.Errorf("%s: %v", tc.name, err)
				return
			}
			io.Copy(io.Discard, res.Body)
			res.Body.Close()
			if res.StatusCode != tc.status || res.Header.Get("Content-Type") != "application/problem+json" {
				errs <- fmt.Errorf("%s: status %d %q, want %d", tc.name, res.StatusCode, res.Header.Get("Content-Type"), tc.status)
			}
		})
	}
	wg.Wait()
	if took := time.Since(start); took > bound {
		t.Errorf("%d stalled error bodies answered after %v, over %v for a %v window", n, took, bound, upstreamerrors.DiscardTime())
	}
	close(errs)
	for err := range errs {
		t.Errorf("stalled error body: %v", err)
	}
	for i := range n {
		select {
		case <-closed:
		case <-time.After(time.Until(start.Add(bound))):
			t.Fatalf("%d of %d upstream connections still open %v into a %v window", n-i, n, bound, upstreamerrors.DiscardTime())
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, body, id := request(t, c, "GET", "/"+tc.name+"/one")
			expectProblem(t, c, res, body, id, problem{status: tc.status, cause: "http_response_status", upstream: tc.upstream})
		})
	}
}

// TestClientLeavesDuringDrain checks that a client gone while an
// intercepted body is drained is logged as a client that left.
func TestClientLeavesDuringDrain(t *testing.T) {
	// the client must leave inside the window: give it the full second
	prev := upstreamerrors.DiscardTime()
	upstreamerrors.SetDiscardTime(time.Second)
	t.Cleanup(func() { upstreamerrors.SetDiscardTime(prev) })
	arrived := make(chan struct{}, 1)
	up := testcaddy.RawServer(t, func(c net.Conn, r *http.Request) {
		io.WriteString(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 1000\r\n\r\npartial")
		arrived <- struct{}{}
		testcaddy.Hang(c, r)
	})
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-arrived
		// leave once the proxy is draining the body, well inside the window
		time.Sleep(300 * time.Millisecond)
		cancel()
	}()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.URL("/leave"), nil)
	req.Header.Set("X-Request-ID", "leaves-during-drain")
	if res, err := c.Client.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("got %d after the client left", res.StatusCode)
	}
	es := c.WaitEntries("leaves-during-drain", 10*time.Second)
	if len(es) != 1 {
		t.Fatalf("want 1 entry, got %v", es)
	}
	if e := es[0]; e["status"] != float64(499) || e["cause"] != "client_canceled" || e["level"] != "info" {
		t.Errorf("entry = %v, want client_canceled 499 at info", e)
	}
}

// TestResetInErrorBody checks that an upstream reset inside an intercepted
// body is answered, and logged as what it is, not as the discard limit.
func TestResetInErrorBody(t *testing.T) {
	up := testcaddy.RawServer(t, func(c net.Conn, r *http.Request) {
		io.WriteString(c, "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 1000\r\n\r\npartial")
		time.Sleep(50 * time.Millisecond)
		testcaddy.Reset(c, r)
	})
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up)
	res, body, id := request(t, c, "GET", "/reset")
	expectProblem(t, c, res, body, id, problem{status: 502, cause: "http_response_status", upstream: 500})
	e := c.ModuleEntries(id)[0]
	if msg, _ := e["error"].(string); msg == "" || strings.Contains(msg, "discard") {
		t.Errorf("logged error %q, want the body's read failure", msg)
	}
}

// TestInvalidUpstreamStatus checks that a status outside 100-599, which
// RFC 9110 has a client treat as a 5xx it knows nothing of, is answered
// as an invalid response whatever intercept says: nothing of its page
// reaches the client and the log names the status. Below 100 net/http
// would panic on it; above 599 it would pass it on.
func TestInvalidUpstreamStatus(t *testing.T) {
	for _, tc := range []struct {
		code   string
		config string
	}{
		{"099", ""},
		{"000", ""},
		{"600", ""},
		{"799", ""},
		{"999", ""},
		{"600", "intercept off"},
		{"999", "intercept 404"},
	} {
		t.Run(tc.code+"/"+strings.ReplaceAll(tc.config, " ", "_"), func(t *testing.T) {
			up := testcaddy.RawServer(t, testcaddy.Reply("HTTP/1.1 "+tc.code+" Odd\r\nContent-Length: 11\r\nSet-Cookie: s=1\r\nX-Upstream-Secret: yes\r\n\r\nsecret page"))
			c := testcaddy.StartCaddyfile(t, "upstream_errors {\n"+tc.config+"\n}\nreverse_proxy "+up)
			res, body, id := request(t, c, "GET", "/odd")
			n, _ := strconv.Atoi(tc.code)
			expectProblem(t, c, res, body, id, problem{status: 502, cause: "http_protocol_error", invalid: n})
			if strings.Contains(string(body), "secret") {
				t.Errorf("the upstream's page reached the client: %s", body)
			}
		})
	}
}

// TestContentLengthDownloadStreams checks that a Content-Length body
// reaches the client while the upstream is still sending it.
func TestContentLengthDownloadStreams(t *testing.T) {
	const first, total = 256 << 10, 512 << 10
	release := make(chan struct{})
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(total))
		w.Write([]byte(strings.Repeat("a", first)))
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Write([]byte(strings.Repeat("b", total-first)))
	}))
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up)
	res, err := c.Client.Get(c.URL("/download"))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	got := make(chan error, 1)
	br := bufio.NewReader(res.Body)
	go func() {
		_, err := io.ReadFull(br, make([]byte, first))
		got <- err
	}()
	select {
	case err := <-got:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("the first bytes never arrived while the upstream was sending: the body is buffered")
	}
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil || len(rest) != total-first || strings.Trim(string(rest), "b") != "" {
		t.Errorf("rest of the body: %d bytes, %v", len(rest), err)
	}
}
