package upstreamerrors

import (
	"context"
	"net/http"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// spanFor runs recordSpan for f on a request with content type ct inside
// a recorded span and returns the ended span.
func spanFor(t *testing.T, ct string, f failure) sdktrace.ReadOnlySpan {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	ctx, span := tp.Tracer("test").Start(context.Background(), "request")
	r, _ := http.NewRequestWithContext(ctx, "POST", "/", nil)
	r.Header.Set("Content-Type", ct)
	recordSpan(r, f, bodyValues{Detail: causes[f.cause].Detail})
	span.End()
	ended := rec.Ended()
	if len(ended) != 1 {
		t.Fatalf("%d spans ended", len(ended))
	}
	return ended[0]
}

func attrs(s sdktrace.ReadOnlySpan) map[attribute.Key]attribute.Value {
	m := map[attribute.Key]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[kv.Key] = kv.Value
	}
	return m
}

func TestRecordSpan(t *testing.T) {
	detail := causes[causeHTTPResponseTimeout].Detail
	s := spanFor(t, "text/html", failure{cause: causeHTTPResponseTimeout, status: 504})
	a := attrs(s)
	if a["error.type"].AsString() != causeHTTPResponseTimeout || a["http.response.status_code"].AsInt64() != 504 {
		t.Errorf("HTTP answer attributes = %v", a)
	}
	if _, ok := a["rpc.response.status_code"]; ok {
		t.Errorf("HTTP answer has an RPC status: %v", a)
	}
	if s.Status().Code != otelcodes.Error || s.Status().Description != detail {
		t.Errorf("status = %+v, want Error %q", s.Status(), detail)
	}
	if ev := s.Events(); len(ev) != 1 || ev[0].Name != "exception" ||
		!hasAttr(ev[0].Attributes, "exception.type", causeHTTPResponseTimeout) ||
		!hasAttr(ev[0].Attributes, "exception.message", detail) {
		t.Errorf("events = %+v", ev)
	}

	s = spanFor(t, "application/grpc+proto", failure{cause: causeHTTPResponseTimeout, status: 504})
	a = attrs(s)
	if a["error.type"].AsString() != causeHTTPResponseTimeout || a["http.response.status_code"].AsInt64() != 200 ||
		a["rpc.response.status_code"].AsString() != "DEADLINE_EXCEEDED" {
		t.Errorf("gRPC answer attributes = %v", a)
	}
}

func hasAttr(kvs []attribute.KeyValue, key, want string) bool {
	for _, kv := range kvs {
		if string(kv.Key) == key && kv.Value.AsString() == want {
			return true
		}
	}
	return false
}
