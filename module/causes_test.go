package upstreamerrors_test

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// failureCase is one way an upstream can fail before it answers.
type failureCase struct {
	name string
	// site returns the site body (after upstream_errors) for the case.
	site   func(t *testing.T) string
	status int
	cause  string
	// stock is what Caddy answers without the module.
	stock int
}

// rawUpstream is a case's site: a proxy, with transport settings, to a
// loopback server that answers each connection with fn.
func rawUpstream(fn func(net.Conn, *http.Request), transport string) func(*testing.T) string {
	return func(t *testing.T) string { return proxyTo(testcaddy.RawServer(t, fn), transport) }
}

func proxyTo(addr, transport string) string {
	if transport == "" {
		return "reverse_proxy " + addr
	}
	return fmt.Sprintf("reverse_proxy %s {\n\ttransport http {\n%s\n\t}\n}", addr, transport)
}

var failureCases = []failureCase{
	{
		name:   "refused",
		site:   func(t *testing.T) string { return proxyTo(testcaddy.ClosedPort(t), "") },
		status: 502, cause: "connection_refused", stock: 502,
	},
	{
		name:   "reset",
		site:   func(t *testing.T) string { return proxyTo(testcaddy.RawServer(t, testcaddy.Reset), "") },
		status: 502, cause: "connection_terminated", stock: 502,
	},
	{
		name:   "closed before response",
		site:   rawUpstream(func(net.Conn, *http.Request) {}, ""),
		status: 502, cause: "connection_terminated", stock: 502,
	},
	{
		name:   "garbage",
		site:   rawUpstream(testcaddy.Reply("SSH-2.0-OpenSSH_4.3\r\n\r\n"), ""),
		status: 502, cause: "http_protocol_error", stock: 502,
	},
	{
		name:   "broken header",
		site:   rawUpstream(testcaddy.Reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nBroken header line\r\n\r\nok"), ""),
		status: 502, cause: "http_protocol_error", stock: 502,
	},
	{
		name:   "invalid content length",
		site:   rawUpstream(testcaddy.Reply("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nok"), ""),
		status: 502, cause: "http_protocol_error", stock: 502,
	},
	{
		name:   "closed mid headers",
		site:   rawUpstream(testcaddy.Reply("HTTP/1.1 200 OK\r\nContent-Type: text/ht"), ""),
		status: 502, cause: "connection_terminated", stock: 502,
	},
	{
		name:   "hang",
		site:   rawUpstream(testcaddy.Hang, "response_header_timeout 300ms"),
		status: 504, cause: "http_response_timeout", stock: 504,
	},
	{
		name:   "slow headers",
		site:   rawUpstream(testcaddy.Slow(3*time.Second, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"), "response_header_timeout 300ms"),
		status: 504, cause: "http_response_timeout", stock: 504,
	},
	{
		name:   "read timeout",
		site:   rawUpstream(testcaddy.Hang, "read_timeout 300ms"),
		status: 504, cause: "connection_read_timeout", stock: 504,
	},
	{
		name: "dial timeout",
		site: func(t *testing.T) string {
			return proxyTo(testcaddy.FullBacklog(t), "dial_timeout 300ms")
		},
		// stock Caddy hides the timeout inside its dial error type
		status: 504, cause: "connection_timeout", stock: 502,
	},
	{
		name: "dns failure",
		site: func(t *testing.T) string {
			resolver := testcaddy.ClosedPort(t)
			return proxyTo("legacy.test:8080", "resolvers "+resolver+"\n\t\tdial_timeout 2s")
		},
		status: 502, cause: "dns_error", stock: 502,
	},
	{
		name: "plain http to tls transport",
		site: func(t *testing.T) string {
			up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "plain") }))
			return proxyTo(up, "tls\n\t\ttls_insecure_skip_verify")
		},
		status: 502, cause: "tls_protocol_error", stock: 502,
	},
	{
		name: "untrusted certificate",
		site: func(t *testing.T) string {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: http.NotFoundHandler(), ReadHeaderTimeout: time.Minute}
			go srv.ServeTLS(l, "testdata/leaf.crt", "testdata/leaf.key")
			t.Cleanup(func() { srv.Close() })
			return proxyTo(l.Addr().String(), "tls")
		},
		status: 502, cause: "tls_certificate_error", stock: 502,
	},
}

func TestFailuresAreNormalized(t *testing.T) {
	for _, tc := range failureCases {
		t.Run(tc.name, func(t *testing.T) {
			site := tc.site(t)
			c := testcaddy.StartCaddyfile(t, "upstream_errors\n"+site)
			res, body, id := request(t, c, "GET", "/orders/42?debug=1")
			p := expectProblem(t, c, res, body, id, problem{status: tc.status, cause: tc.cause})
			if p.Instance != "/orders/42" {
				t.Errorf("instance = %q, want the path without the query", p.Instance)
			}
			if tc.status == 503 && res.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		})
		t.Run(tc.name+"/stock", func(t *testing.T) {
			c := testcaddy.StartCaddyfile(t, tc.site(t))
			res, body, _ := request(t, c, "GET", "/")
			if res.StatusCode != tc.stock {
				t.Errorf("stock Caddy answered %d, want %d", res.StatusCode, tc.stock)
			}
			if len(body) != 0 {
				t.Errorf("stock Caddy body = %q", body)
			}
		})
	}
}

func TestAllUpstreamsUnhealthy(t *testing.T) {
	dead := testcaddy.ClosedPort(t)
	c := testcaddy.StartCaddyfile(t, `upstream_errors
reverse_proxy `+dead+` {
	fail_duration 1m
	max_fails 1
}`)
	// the first failure marks the only upstream down
	res, body, id := request(t, c, "GET", "/")
	expectProblem(t, c, res, body, id, problem{status: 502, cause: "connection_refused"})

	res, body, id = request(t, c, "GET", "/")
	expectProblem(t, c, res, body, id, problem{status: 503, cause: "destination_unavailable"})
	if got := res.Header.Get("Retry-After"); got != "10" {
		t.Errorf("Retry-After = %q, want the default 10", got)
	}
}

func TestHeadGetsHeadersOnly(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, "upstream_errors\n"+proxyTo(testcaddy.ClosedPort(t), ""))
	res, body, id := request(t, c, "HEAD", "/")
	if res.StatusCode != 502 || res.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("HEAD: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if len(body) != 0 {
		t.Errorf("HEAD body = %q", body)
	}
	if n := len(c.ModuleEntries(id)); n != 1 {
		t.Errorf("%d log entries, want 1", n)
	}
}

func TestMaxRequestsReached(t *testing.T) {
	arrived := make(chan struct{}, 1)
	up := testcaddy.RawServer(t, func(c net.Conn, r *http.Request) {
		arrived <- struct{}{}
		testcaddy.Hang(c, r)
	})
	c := testcaddy.StartCaddyfile(t, `upstream_errors
reverse_proxy `+up+` {
	unhealthy_request_count 1
	transport http {
		response_header_timeout 1s
	}
}`)
	// the first request holds the upstream's only slot
	first := make(chan error, 1)
	go func() {
		res, err := c.Client.Get(c.URL("/slow"))
		if err == nil {
			res.Body.Close()
		}
		first <- err
	}()
	<-arrived

	res, body, id := request(t, c, "GET", "/")
	expectProblem(t, c, res, body, id, problem{status: 503, cause: "destination_unavailable"})
	if res.Header.Get("Retry-After") != "10" {
		t.Errorf("Retry-After = %q", res.Header.Get("Retry-After"))
	}
	c.Client.CloseIdleConnections()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}
