package upstreamerrors_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// traceparent returns a new sampled W3C trace context and its trace ID,
// so the test finds the span Caddy exports for its request.
func traceparent(t *testing.T) (string, []byte) {
	t.Helper()
	id := make([]byte, 24)
	if _, err := rand.Read(id); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("00-%s-%s-01", hex.EncodeToString(id[:16]), hex.EncodeToString(id[16:])), id[:16]
}

// traceToCollector makes Caddy's tracing handler export over OTLP/gRPC to
// a collector on loopback, and checks at the end of the test that nothing
// it started is left running. Call it before starting any server, so
// those stop before the check. The environment is Caddy's only way to
// configure the exporter, so these tests cannot be parallel.
func traceToCollector(t *testing.T) *testcaddy.OTLPCollector {
	t.Helper()
	// registered first so it runs last: Caddy's tracer provider, its
	// exporter's connection and the collector must all be gone
	existing := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		goleak.VerifyNone(t, existing,
			goleak.IgnoreTopFunction("github.com/DeRuina/timberjack.(*Logger).millRun"),
			goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"),
		)
	})
	col := testcaddy.StartOTLPCollector(t)
	t.Setenv("OTEL_TRACES_EXPORTER", "otlp")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", col.Endpoint)
	t.Setenv("OTEL_EXPORTER_OTLP_INSECURE", "true")
	t.Setenv("OTEL_TRACES_SAMPLER", "parentbased_always_on")
	t.Setenv("OTEL_PROPAGATORS", "tracecontext")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "50")
	return col
}

// waitSpan returns the server span of traceID or fails.
func waitSpan(t *testing.T, col *testcaddy.OTLPCollector, traceID []byte) *tracepb.Span {
	t.Helper()
	s := col.WaitSpan(traceID, 10*time.Second)
	if s == nil {
		t.Fatalf("no span for trace %x reached the collector", traceID)
	}
	return s
}

// expectAttr asserts a string or integer span attribute.
func expectAttr(t *testing.T, s *tracepb.Span, key string, want any) {
	t.Helper()
	v, ok := testcaddy.SpanAttr(s, key)
	var got any
	switch want.(type) {
	case string:
		got = v.GetStringValue()
	case int:
		got = int(v.GetIntValue())
	}
	if !ok || got != want {
		t.Errorf("span attribute %s = %v (set: %v), want %v", key, v, ok, want)
	}
}

// expectErrorDetail asserts the failure's detail is on the span: in the
// status, where the tracing handler leaves it, and in an exception event.
func expectErrorDetail(t *testing.T, s *tracepb.Span, cause, detail string, inStatus bool) {
	t.Helper()
	if s.GetStatus().GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("span status = %v, want Error", s.GetStatus())
	}
	if inStatus && s.GetStatus().GetMessage() != detail {
		t.Errorf("span status message = %q, want %q", s.GetStatus().GetMessage(), detail)
	}
	var found bool
	for _, ev := range s.GetEvents() {
		if ev.GetName() != "exception" {
			continue
		}
		found = true
		attrs := &tracepb.Span{Attributes: ev.GetAttributes()}
		expectAttr(t, attrs, "exception.type", cause)
		expectAttr(t, attrs, "exception.message", detail)
	}
	if !found {
		t.Errorf("span has no exception event: %v", s.GetEvents())
	}
}

func TestTracingRecordsFailure(t *testing.T) {
	col := traceToCollector(t)
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	}))
	c := testcaddy.StartCaddyfile(t, `tracing
handle_path /dead/* {
	upstream_errors
	reverse_proxy `+testcaddy.ClosedPort(t)+`
}
handle {
	upstream_errors
	reverse_proxy `+up+`
}`)

	tp, traceID := traceparent(t)
	res, body, id := request(t, c, "GET", "/dead/x", "Traceparent", tp)
	p := expectProblem(t, c, res, body, id, problem{status: 502, cause: "connection_refused"})
	s := waitSpan(t, col, traceID)
	expectAttr(t, s, "error.type", "connection_refused")
	expectAttr(t, s, "http.response.status_code", 502)
	// the tracing handler resets a 5xx span's status message when the
	// response ends, so the detail is asserted on the event
	expectErrorDetail(t, s, "connection_refused", p.Detail, false)

	tp, traceID = traceparent(t)
	res, _, _ = request(t, c, "GET", "/ok", "Traceparent", tp)
	if res.StatusCode != 200 {
		t.Fatalf("pass-through: %d", res.StatusCode)
	}
	s = waitSpan(t, col, traceID)
	if v, ok := testcaddy.SpanAttr(s, "error.type"); ok {
		t.Errorf("pass-through span has error.type %v", v)
	}
	if s.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR || len(s.GetEvents()) != 0 {
		t.Errorf("pass-through span status %v, events %v", s.GetStatus(), s.GetEvents())
	}
	expectAttr(t, s, "http.response.status_code", 200)
}

// TestTracingRecordsGRPCFailure: a gRPC answer is HTTP 200, so the span
// carries the gRPC status, and keeps the detail as its status message.
func TestTracingRecordsGRPCFailure(t *testing.T) {
	col := traceToCollector(t)
	c := testcaddy.StartCaddyfile(t, "tracing\nupstream_errors\nreverse_proxy h2c://"+testcaddy.ClosedPort(t), h2cServers)
	detail := problemDetail(t, c, "/")

	tp, traceID := traceparent(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "traceparent", tp)
	_, err := healthpb.NewHealthClient(testcaddy.GRPCClient(t, fmt.Sprintf("127.0.0.1:%d", c.Port))).
		Check(ctx, &healthpb.HealthCheckRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("gRPC call: %v", err)
	}
	s := waitSpan(t, col, traceID)
	expectAttr(t, s, "error.type", "connection_refused")
	expectAttr(t, s, "http.response.status_code", 200)
	expectAttr(t, s, "rpc.response.status_code", "UNAVAILABLE")
	expectErrorDetail(t, s, "connection_refused", detail.detail, true)
}
