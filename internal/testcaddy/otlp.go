package testcaddy

import (
	"context"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
)

// OTLPCollector is an OTLP/gRPC trace receiver on loopback that keeps
// every span it is sent.
type OTLPCollector struct {
	coltracepb.UnimplementedTraceServiceServer

	// Endpoint is the collector's URL, for OTEL_EXPORTER_OTLP_ENDPOINT.
	Endpoint string

	mu    sync.Mutex
	spans []*tracepb.Span
}

// StartOTLPCollector runs a collector until the test ends. Register it
// before starting Caddy so Caddy, flushing its spans as it stops, stops
// first.
func StartOTLPCollector(t testing.TB) *OTLPCollector {
	t.Helper()
	c := new(OTLPCollector)
	c.Endpoint = "http://" + serveGRPC(t, func(srv *grpc.Server) { coltracepb.RegisterTraceServiceServer(srv, c) })
	return c
}

// Export implements the OTLP trace service.
func (c *OTLPCollector) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rs := range req.GetResourceSpans() {
		for _, ss := range rs.GetScopeSpans() {
			c.spans = append(c.spans, ss.GetSpans()...)
		}
	}
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// WaitSpan polls until a span of trace traceID has arrived and returns
// it, or nil after within.
func (c *OTLPCollector) WaitSpan(traceID []byte, within time.Duration) *tracepb.Span {
	deadline := time.Now().Add(within)
	for {
		c.mu.Lock()
		for _, s := range c.spans {
			if string(s.GetTraceId()) == string(traceID) {
				c.mu.Unlock()
				return s
			}
		}
		c.mu.Unlock()
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// SpanAttr returns the value of a span attribute and whether it is set.
func SpanAttr(s *tracepb.Span, key string) (*commonpb.AnyValue, bool) {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			return kv.GetValue(), true
		}
	}
	return nil, false
}
