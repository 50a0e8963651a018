package upstreamerrors_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// h2cServers lets Caddy accept cleartext HTTP/2, as gRPC clients speak it
// without TLS.
var h2cServers = testcaddy.Options{Global: "servers {\n\tprotocols h1 h2c\n}"}

// grpcCall is one gRPC Check through Caddy and what came back.
type grpcCall struct {
	id  string
	st  *status.Status
	md  metadata.MD // header and trailer metadata together
	res *healthpb.HealthCheckResponse
}

// grpcCheck calls the health service's Check through cc with a fresh
// request ID.
func grpcCheck(t *testing.T, cc *grpc.ClientConn, service string) grpcCall {
	t.Helper()
	id := fmt.Sprintf("grpc-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), idSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-request-id", id)
	var hdr, trl metadata.MD
	res, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{Service: service},
		grpc.Header(&hdr), grpc.Trailer(&trl))
	return grpcCall{id: id, st: status.Convert(err), md: metadata.Join(hdr, trl), res: res}
}

// httpAnswer is what a plain HTTP client gets for the same failure: the
// gRPC answer must carry the same detail and Proxy-Status.
type httpAnswer struct{ detail, proxyStatus string }

// problemDetail asks Caddy for path as a plain HTTP client.
func problemDetail(t *testing.T, c *testcaddy.Caddy, path string) httpAnswer {
	t.Helper()
	res, body, _ := request(t, c, "POST", path)
	var p testcaddy.Problem
	if err := json.Unmarshal(body, &p); err != nil || p.Detail == "" || res.Header.Get("Proxy-Status") == "" {
		t.Fatalf("HTTP client got %d %s, want a problem body: %v", res.StatusCode, body, err)
	}
	return httpAnswer{p.Detail, res.Header.Get("Proxy-Status")}
}

// expectGRPCError asserts a failure answered in gRPC terms: the status
// code, the problem's detail as the message, Proxy-Status and the request
// ID as metadata, and the module's one log entry.
func expectGRPCError(t *testing.T, c *testcaddy.Caddy, call grpcCall, code codes.Code, want httpAnswer, httpStatus int, cause string) {
	t.Helper()
	if call.st.Code() != code || call.st.Message() != want.detail {
		t.Errorf("gRPC status = %v %q, want %v %q", call.st.Code(), call.st.Message(), code, want.detail)
	}
	if ps := call.md.Get("proxy-status"); len(ps) != 1 || ps[0] != want.proxyStatus {
		t.Errorf("proxy-status = %q, want %q", ps, want.proxyStatus)
	}
	if got := call.md.Get("x-request-id"); len(got) != 1 || got[0] != call.id {
		t.Errorf("x-request-id = %q, want %q", got, call.id)
	}
	entries := c.ModuleEntries(call.id)
	if len(entries) != 1 {
		t.Fatalf("want 1 log entry for %s, got %d: %v", call.id, len(entries), entries)
	}
	e := entries[0]
	if e["status"] != float64(httpStatus) || e["class"] != "5xx" || e["cause"] != cause || e["method"] != "POST" {
		t.Errorf("log entry = %v, want status %d, class 5xx, cause %s", e, httpStatus, cause)
	}
}

func TestGRPCRefusedUpstream(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy h2c://"+testcaddy.ClosedPort(t), h2cServers)
	detail := problemDetail(t, c, "/")

	call := grpcCheck(t, testcaddy.GRPCClient(t, fmt.Sprintf("127.0.0.1:%d", c.Port)), "")
	expectGRPCError(t, c, call, codes.Unavailable, detail, 502, "connection_refused")
}

// TestGRPCTrailersOnly reads the answer off the wire: HTTP 200, one
// header block holding grpc-status and the percent-encoded grpc-message,
// and no body. gRPC-Web keeps the HTTP answer.
func TestGRPCTrailersOnly(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy h2c://"+testcaddy.ClosedPort(t), h2cServers)
	detail := problemDetail(t, c, "/")
	client := h2cClient()
	defer client.CloseIdleConnections()

	for _, ct := range []string{"application/grpc", "application/grpc+proto", "application/grpc+json", "Application/GRPC+Proto"} {
		t.Run(ct, func(t *testing.T) {
			req, _ := http.NewRequest("POST", c.URL("/grpc.health.v1.Health/Check"), strings.NewReader("\x00\x00\x00\x00\x00"))
			req.Header.Set("Content-Type", ct)
			req.Header.Set("TE", "trailers")
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(res.Body)
			res.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if res.ProtoMajor != 2 || res.StatusCode != 200 || len(body) != 0 {
				t.Errorf("%s: %s %d with %d body bytes, want HTTP/2 200 and no body", ct, res.Proto, res.StatusCode, len(body))
			}
			if got := res.Header.Get("Content-Type"); got != "application/grpc" {
				t.Errorf("%s: content-type = %q", ct, got)
			}
			if got := res.Header.Get("Grpc-Status"); got != fmt.Sprint(int(codes.Unavailable)) {
				t.Errorf("%s: grpc-status = %q in the header block, want %d", ct, got, codes.Unavailable)
			}
			if got := res.Header.Get("Grpc-Message"); got != strings.ReplaceAll(detail.detail, "%", "%25") {
				t.Errorf("%s: grpc-message = %q, want the detail %q", ct, got, detail.detail)
			}
			if len(res.Trailer) != 0 {
				t.Errorf("%s: trailers %v after the header block", ct, res.Trailer)
			}
		})
	}

	for _, ct := range []string{"application/grpc-web", "application/grpc-web-text", "application/grpcx"} {
		t.Run(ct, func(t *testing.T) {
			res, body, id := request(t, c, "POST", "/", "Content-Type", ct)
			expectProblem(t, c, res, body, id, problem{status: 502, cause: "connection_refused"})
			if res.Header.Get("Grpc-Status") != "" {
				t.Errorf("%s got grpc-status", ct)
			}
		})
	}
}

func TestGRPCHangingUpstream(t *testing.T) {
	arrived := make(chan struct{}, 8)
	up := testcaddy.RawServer(t, func(c net.Conn, r *http.Request) {
		arrived <- struct{}{}
		testcaddy.Hang(c, r)
	})
	c := testcaddy.StartCaddyfile(t, `upstream_errors
reverse_proxy h2c://`+up+` {
	transport http {
		response_header_timeout 1s
	}
}`, h2cServers)
	detail := problemDetail(t, c, "/")

	call := grpcCheck(t, testcaddy.GRPCClient(t, fmt.Sprintf("127.0.0.1:%d", c.Port)), "")
	select {
	case <-arrived:
	default:
		t.Fatal("the request never reached the hanging upstream")
	}
	// the upstream may have acted on the request: not safe to retry
	expectGRPCError(t, c, call, codes.DeadlineExceeded, detail, 504, "http_response_timeout")
}

func TestGRPCAllUpstreamsUnhealthy(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, `upstream_errors
reverse_proxy h2c://`+testcaddy.ClosedPort(t)+` {
	fail_duration 1m
	max_fails 1
}`, h2cServers)
	cc := testcaddy.GRPCClient(t, fmt.Sprintf("127.0.0.1:%d", c.Port))

	// the first failure marks the only upstream down
	first := grpcCheck(t, cc, "")
	if first.st.Code() != codes.Unavailable {
		t.Fatalf("first call: %v", first.st)
	}
	call := grpcCheck(t, cc, "")
	detail := problemDetail(t, c, "/")
	expectGRPCError(t, c, call, codes.Unavailable, detail, 503, "destination_unavailable")
	if got := call.md.Get("retry-after"); len(got) != 1 || got[0] != "10" {
		t.Errorf("retry-after = %q, want the default 10", got)
	}
}

// TestGRPCPassThrough proves a healthy gRPC upstream is untouched: unary
// calls, the upstream's own error status and a server stream whose
// messages arrive while it is open.
func TestGRPCPassThrough(t *testing.T) {
	up, hs := testcaddy.GRPCHealthServer(t)
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy h2c://"+up, h2cServers)
	cc := testcaddy.GRPCClient(t, fmt.Sprintf("127.0.0.1:%d", c.Port))

	ok := grpcCheck(t, cc, "")
	if ok.st.Code() != codes.OK || ok.res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("Check: %v %v", ok.st, ok.res)
	}

	// the upstream's own error, as a direct client sees it
	want := grpcCheck(t, testcaddy.GRPCClient(t, up), "no.such.Service")
	if want.st.Code() != codes.NotFound {
		t.Fatalf("upstream answered an unknown service with %v", want.st)
	}
	got := grpcCheck(t, cc, "no.such.Service")
	if got.st.Code() != want.st.Code() || got.st.Message() != want.st.Message() {
		t.Errorf("upstream error through Caddy = %v, want %v", got.st, want.st)
	}
	if ps := got.md.Get("proxy-status"); len(ps) != 0 {
		t.Errorf("upstream error got proxy-status %q", ps)
	}

	if upstreamerrors.RaceEnabled() {
		// Ending a stream early (a cancel, Caddy stopping) has the HTTP/2
		// transport close the request body while it still reads it; Caddy's
		// reverse_proxy (v2.11.9) counts that body's bytes in a
		// bodyNopCloserIfNotRead without synchronization, a race of its
		// own the detector reports. The stream is checked without it.
		t.Log("the streaming call is checked without the race detector")
		return
	}
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_SERVING)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	stream, err := healthpb.NewHealthClient(cc).Watch(ctx, &healthpb.HealthCheckRequest{Service: "svc"})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := stream.Recv()
	if err != nil || msg.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Fatalf("first streamed message: %v %v", msg, err)
	}
	// the stream is still open: a later update arrives on it
	hs.SetServingStatus("svc", healthpb.HealthCheckResponse_NOT_SERVING)
	msg, err = stream.Recv()
	if err != nil || msg.GetStatus() != healthpb.HealthCheckResponse_NOT_SERVING {
		t.Fatalf("second streamed message: %v %v", msg, err)
	}
	cancel()
	if _, err := stream.Recv(); status.Code(err) != codes.Canceled {
		t.Errorf("after cancel: %v", err)
	}

	for _, call := range []grpcCall{ok, got} {
		if es := c.ModuleEntries(call.id); len(es) != 0 {
			t.Errorf("pass-through logged %v", es)
		}
	}
}

// TestGRPCUpstreamErrorPage: an HTTP error page from a non-gRPC upstream
// (a 503 from a maintenance page) is replaced with a gRPC answer.
func TestGRPCUpstreamErrorPage(t *testing.T) {
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, "<h1>Down for maintenance</h1>")
	}))
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+up, h2cServers)
	detail := problemDetail(t, c, "/")

	call := grpcCheck(t, testcaddy.GRPCClient(t, fmt.Sprintf("127.0.0.1:%d", c.Port)), "")
	expectGRPCError(t, c, call, codes.Unavailable, detail, 503, "http_response_status")
	if e := c.ModuleEntries(call.id); len(e) == 1 && e[0]["upstream_status"] != float64(503) {
		t.Errorf("log upstream_status = %v, want 503", e[0]["upstream_status"])
	}
}
