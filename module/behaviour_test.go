package upstreamerrors_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// TestResetMidBodyAbortsTheClient checks that a body the upstream cuts
// after the head went out reaches the client as an error, not a clean
// end, with either framing, and is logged once as incomplete.
func TestResetMidBodyAbortsTheClient(t *testing.T) {
	for _, tc := range []struct{ name, head, part string }{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", "partial body"},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", "7\r\npartial\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up := testcaddy.RawServer(t, func(c net.Conn, _ *http.Request) {
				io.WriteString(c, tc.head+tc.part)
				time.Sleep(100 * time.Millisecond)
				testcaddy.Reset(c, nil)
			})
			c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up)
			req, _ := http.NewRequest("GET", c.URL("/download"), nil)
			id := "midbody-" + tc.name
			req.Header.Set("X-Request-ID", id)
			res, err := c.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Errorf("status %d", res.StatusCode)
			}
			if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("cut body read as %q, %v; want an unexpected EOF", body, err)
			}
			entries := c.WaitEntries(id, 5*time.Second)
			if len(entries) != 1 {
				t.Fatalf("want 1 entry, got %v", entries)
			}
			if e := entries[0]; e["cause"] != "http_response_incomplete" || e["status"] != float64(200) || e["class"] != "2xx" {
				t.Errorf("entry = %v", e)
			}
		})
	}
}

func TestStatusMapAndIntercept(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	dead := testcaddy.ClosedPort(t)
	c := testcaddy.StartCaddyfile(t, `route /dead/* {
	upstream_errors {
		status connection_refused 503
		retry_after 1m
	}
	reverse_proxy `+dead+`
}
handle_path /only503/* {
	upstream_errors {
		intercept 503
		status 503 502
	}
	reverse_proxy `+up+`
}
handle_path /off/* {
	upstream_errors {
		intercept off
	}
	reverse_proxy `+up+`
}
handle_path /all/* {
	upstream_errors {
		status 5xx 500
		status 504 504
		keep_headers X-Powered-By Retry-After
		type https://errors.example.com/
	}
	reverse_proxy `+up+`
}`)

	res, body, id := request(t, c, "GET", "/dead/x")
	expectProblem(t, c, res, body, id, problem{status: 503, cause: "connection_refused"})
	if got := res.Header.Get("Retry-After"); got != "60" {
		t.Errorf("Retry-After = %q, want 60", got)
	}

	res, body, id = request(t, c, "GET", "/only503/status/503")
	expectProblem(t, c, res, body, id, problem{status: 502, cause: "http_response_status", upstream: 503})
	res, body, _ = request(t, c, "GET", "/only503/status/500")
	if res.StatusCode != 500 || !strings.Contains(string(body), "Traceback") {
		t.Errorf("500 outside the intercept set was not passed through: %d %s", res.StatusCode, body)
	}

	res, body, _ = request(t, c, "GET", "/off/status/500")
	if res.StatusCode != 500 || !strings.Contains(string(body), "Traceback") {
		t.Errorf("intercept off: %d %s", res.StatusCode, body)
	}

	res, body, _ = request(t, c, "GET", "/all/status/502?retry=5")
	if res.StatusCode != 500 || !strings.Contains(string(body), `"type":"https://errors.example.com/http_response_status"`) {
		t.Errorf("5xx map / type: %d %s", res.StatusCode, body)
	}
	if res.Header.Get("X-Powered-By") != "PHP/5.3.3" || res.Header.Get("Retry-After") != "5" {
		t.Errorf("keep_headers: %v", res.Header)
	}
	if res.Header.Get("X-Upstream-Secret") != "" || res.Header.Get("Set-Cookie") != "" {
		t.Errorf("header outside keep_headers leaked: %v", res.Header)
	}
	res, _, _ = request(t, c, "GET", "/all/status/504")
	if res.StatusCode != 504 {
		t.Errorf("exact status beats 5xx: got %d", res.StatusCode)
	}
}

func TestTimeoutGroupMap(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, `upstream_errors {
	status timeout 503
}
reverse_proxy `+testcaddy.RawServer(t, testcaddy.Hang)+` {
	transport http {
		response_header_timeout 200ms
	}
}`)
	res, body, id := request(t, c, "GET", "/")
	expectProblem(t, c, res, body, id, problem{status: 503, cause: "http_response_timeout"})
}

func TestOtherErrorsReachHandleErrors(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, `route {
	upstream_errors
	error /forbidden "no" 403
	error /broken "config bug" 500
	reverse_proxy `+testcaddy.ClosedPort(t)+`
}
handle_errors {
	respond "handled {err.status_code}"
}`)
	res, body, _ := request(t, c, "GET", "/forbidden")
	if res.StatusCode != 403 || string(body) != "handled 403" {
		t.Errorf("403 from another handler: %d %q", res.StatusCode, body)
	}
	res, body, _ = request(t, c, "GET", "/broken")
	if string(body) != "handled 500" {
		t.Errorf("500 from another handler: %d %q", res.StatusCode, body)
	}
	// an upstream failure is answered by the module, not handle_errors
	res, body, id := request(t, c, "GET", "/api")
	expectProblem(t, c, res, body, id, problem{status: 502, cause: "connection_refused"})
}

func TestHugeErrorBodyIsNotRead(t *testing.T) {
	var written atomic.Int64
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(int64(1)<<30))
		w.WriteHeader(500)
		chunk := make([]byte, 32<<10)
		for written.Load() < 1<<30 {
			n, err := w.Write(chunk)
			written.Add(int64(n))
			if err != nil {
				return
			}
		}
	}))
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up)
	res, body, id := request(t, c, "GET", "/huge")
	expectProblem(t, c, res, body, id, problem{status: 502, cause: "http_response_status", upstream: 500})
	// kernel socket buffers hold a few MiB at most; reading the body
	// through would be 1 GiB
	if n := written.Load(); n > 64<<20 {
		t.Errorf("upstream wrote %d bytes: the error body was read", n)
	}
}

func TestDrippingErrorBodyIsAbandoned(t *testing.T) {
	up := testcaddy.RawServer(t, func(c net.Conn, _ *http.Request) {
		io.WriteString(c, "HTTP/1.1 500 Internal Server Error\r\nTransfer-Encoding: chunked\r\n\r\n")
		for range 600 {
			if _, err := io.WriteString(c, "1\r\nx\r\n"); err != nil {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
	})
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up)
	// the drip lasts a minute; the answer must come once the window ends
	start := time.Now()
	res, body, id := request(t, c, "GET", "/drip")
	if took, bound := time.Since(start), 4*upstreamerrors.DiscardTime(); took > bound {
		t.Errorf("answered after %v, over %v for a %v window", took, bound, upstreamerrors.DiscardTime())
	}
	expectProblem(t, c, res, body, id, problem{status: 502, cause: "http_response_status", upstream: 500})
}

func TestMatcherLimitsTheDirective(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, "upstream_errors /api/*\nreverse_proxy "+testcaddy.ClosedPort(t))
	res, body, id := request(t, c, "GET", "/api/orders")
	expectProblem(t, c, res, body, id, problem{status: 502, cause: "connection_refused"})
	res, body, _ = request(t, c, "GET", "/page")
	if res.StatusCode != 502 || len(body) != 0 {
		t.Errorf("unmatched path: %d %q, want stock Caddy's empty 502", res.StatusCode, body)
	}
}

// TestEncodeAndTheProblem checks both ways encode meets the directive:
// an encode further out compresses the module's answer like any response;
// an encode in the directive's scope (the directive sorts first) leaves
// the answer as the module wrote it, a valid identity body.
func TestEncodeAndTheProblem(t *testing.T) {
	dead := testcaddy.ClosedPort(t)
	c := testcaddy.StartCaddyfile(t, `handle /outer/* {
	route {
		encode gzip
		upstream_errors
		reverse_proxy `+dead+`
	}
}
handle {
	upstream_errors
	encode gzip
	reverse_proxy `+dead+`
}`)
	for path, gzipped := range map[string]bool{"/outer/": true, "/inner/": false} {
		t.Run(path, func(t *testing.T) {
			res, body, id := request(t, c, "GET", path, "Accept", "text/html", "Accept-Encoding", "gzip")
			if got := res.Header.Get("Content-Encoding") == "gzip"; res.StatusCode != 502 || got != gzipped {
				t.Fatalf("status %d, Content-Encoding %q, want 502 and gzip %v", res.StatusCode, res.Header.Get("Content-Encoding"), gzipped)
			}
			page := body
			if gzipped {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if page, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			} else if cl := res.Header.Get("Content-Length"); cl != strconv.Itoa(len(body)) {
				t.Errorf("Content-Length %q for a %d-byte body", cl, len(body))
			}
			if !strings.Contains(string(page), "<title>502 Bad Gateway</title>") || !strings.Contains(string(page), id) {
				t.Errorf("page: %s", page)
			}
			if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Accept") {
				t.Errorf("Vary = %q", res.Header.Values("Vary"))
			}
		})
	}
}
