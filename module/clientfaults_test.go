package upstreamerrors_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// counts reads the two counters, so a test can hold the upstream's
// failures apart from the client's.
type counts struct{ upstream, client float64 }

func readCounts(t *testing.T, c *testcaddy.Caddy) counts {
	t.Helper()
	return counts{
		upstream: scrapeSum(t, c, "caddy_http_upstream_errors_total"),
		client:   scrapeSum(t, c, "caddy_http_upstream_errors_client_total"),
	}
}

// expectCounted checks how each counter grew since before.
func expectCounted(t *testing.T, c *testcaddy.Caddy, before counts, upstream, client float64) {
	t.Helper()
	after := readCounts(t, c)
	if got := after.upstream - before.upstream; got != upstream {
		t.Errorf("caddy_http_upstream_errors_total grew by %v, want %v", got, upstream)
	}
	if got := after.client - before.client; got != client {
		t.Errorf("caddy_http_upstream_errors_client_total grew by %v, want %v", got, client)
	}
}

// leaveBeforeAnswer sends a request with ID id to path and leaves after a
// moment, as a client that gives up on a hanging upstream does, and
// returns the module's entries for it.
func leaveBeforeAnswer(t *testing.T, c *testcaddy.Caddy, path, id string) []testcaddy.Entry {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", c.URL(path), nil)
	req.Header.Set("X-Request-ID", id)
	if res, err := c.Client.Do(req); err == nil {
		res.Body.Close()
		t.Fatalf("an answer %d from a hanging upstream", res.StatusCode)
	}
	return c.WaitEntries(id, 5*time.Second)
}

// getWithID sends a GET for path with the request ID id.
func getWithID(t *testing.T, c *testcaddy.Caddy, path, id string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", c.URL(path), nil)
	req.Header.Set("X-Request-ID", id)
	res, err := c.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// oneEntry waits for the module's one log entry for id.
func oneEntry(t *testing.T, c *testcaddy.Caddy, id string) testcaddy.Entry {
	t.Helper()
	es := c.WaitEntries(id, 5*time.Second)
	if len(es) != 1 {
		t.Fatalf("want 1 entry, got %v", es)
	}
	return es[0]
}

// TestClientCutsItsRequestBody checks that a request body the client
// breaks off is the client's fault: answered 400 with the connection
// closed, logged at info as a client error, counted apart from upstream
// errors. Both framings, and an upstream that reads the whole body first.
func TestClientCutsItsRequestBody(t *testing.T) {
	upstreamRead := make(chan error, 4)
	arrived := make(chan struct{}, 4)
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		_, err := io.Copy(io.Discard, r.Body)
		upstreamRead <- err
		io.WriteString(w, "stored")
	}))
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up, testcaddy.Options{Admin: true})

	for _, tc := range []struct{ name, head, part string }{
		{"content-length", "Content-Length: 100000\r\n", strings.Repeat("x", 1000)},
		{"chunked", "Transfer-Encoding: chunked\r\n", "3e8\r\n" + strings.Repeat("x", 1000) + "\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := readCounts(t, c)
			id := "cut-body-" + tc.name
			conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", c.Port))
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST /upload HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-ID: %s\r\n%s\r\n%s", id, tc.head, tc.part)
			// the proxy streams the body: the upstream is reading it when
			// the client stops sending but still waits for the answer
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				t.Fatal("the request never reached the upstream")
			}
			conn.(*net.TCPConn).CloseWrite()
			conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			res, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer to the cut body: %v", err)
			}
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusBadRequest || !res.Close {
				t.Errorf("%d, close %v, want 400 and the connection closed", res.StatusCode, res.Close)
			}
			if !strings.Contains(string(body), `"cause":"client_body_incomplete"`) || strings.Contains(string(body), "upstream") {
				t.Errorf("body %s, want the client-side cause and no blame on the upstream", body)
			}
			if ps := res.Header.Get("Proxy-Status"); ps != "caddy;error=http_request_error" {
				t.Errorf("Proxy-Status %q", ps)
			}
			es := c.WaitEntries(id, 5*time.Second)
			if len(es) != 1 {
				t.Fatalf("want 1 entry, got %v", es)
			}
			if e := es[0]; e["level"] != "info" || e["msg"] != "client error" || e["cause"] != "client_body_incomplete" || e["status"] != float64(400) {
				t.Errorf("entry %v, want an info client error for the cut body", e)
			}
			expectCounted(t, c, before, 0, 1)
			select {
			case err := <-upstreamRead:
				if err == nil {
					t.Errorf("the upstream read a complete body from a cut request")
				}
			case <-time.After(10 * time.Second):
				t.Error("the upstream is still reading the cut body")
			}
		})
	}
}

// TestClientLeavingIsNotAnUpstreamError checks that a client that goes
// away, before the answer or in the middle of a stream, is logged as a
// client error and counted apart, while an upstream that cuts its own
// body stays an upstream error.
func TestClientLeavingIsNotAnUpstreamError(t *testing.T) {
	events := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; ; i++ {
			if _, err := fmt.Fprintf(w, "data: %d\n\n", i); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}))
	hang := testcaddy.RawServer(t, testcaddy.Hang)
	cut := testcaddy.RawServer(t, func(c net.Conn, _ *http.Request) {
		io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\npartial")
		time.Sleep(50 * time.Millisecond)
		testcaddy.Reset(c, nil)
	})
	c := testcaddy.StartCaddyfile(t, `upstream_errors
handle /events {
	reverse_proxy `+events+`
}
handle /slow {
	reverse_proxy `+hang+`
}
handle /cut {
	reverse_proxy `+cut+`
}`, testcaddy.Options{Admin: true})

	t.Run("before the answer", func(t *testing.T) {
		before := readCounts(t, c)
		es := leaveBeforeAnswer(t, c, "/slow", "leaves-early")
		if len(es) != 1 {
			t.Fatalf("want 1 entry, got %v", es)
		}
		if e := es[0]; e["level"] != "info" || e["msg"] != "client error" || e["cause"] != "client_canceled" || e["status"] != float64(499) || e["class"] != "4xx" {
			t.Errorf("entry %v, want an info client error with 499", e)
		}
		expectCounted(t, c, before, 0, 1)
	})

	t.Run("in the middle of a stream", func(t *testing.T) {
		before := readCounts(t, c)
		res := getWithID(t, c, "/events", "closes-tab")
		line, err := bufio.NewReader(res.Body).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "data: ") {
			t.Fatalf("first event %q, %v", line, err)
		}
		res.Body.Close() // the user closes the tab
		if e := oneEntry(t, c, "closes-tab"); e["level"] != "debug" || e["msg"] != "client error" || e["cause"] != "client_disconnected" || e["status"] != float64(200) {
			t.Errorf("entry %v, want a debug client error with the 200 that was sent", e)
		}
		expectCounted(t, c, before, 0, 1)
	})

	t.Run("upstream cuts its body", func(t *testing.T) {
		before := readCounts(t, c)
		res := getWithID(t, c, "/cut", "upstream-cuts")
		if _, err := io.ReadAll(res.Body); err == nil {
			t.Errorf("a cut body read as complete")
		}
		res.Body.Close()
		if e := oneEntry(t, c, "upstream-cuts"); e["level"] != "error" || e["msg"] != "upstream error" || e["cause"] != "http_response_incomplete" {
			t.Errorf("entry %v, want an upstream error", e)
		}
		expectCounted(t, c, before, 1, 0)
	})
}
