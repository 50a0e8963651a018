package upstreamerrors

import (
	"net/http"

	"go.opentelemetry.io/otel/attribute"
	otelcodes "go.opentelemetry.io/otel/codes"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// recordSpan records an answered failure on the request's span, the one
// Caddy's tracing handler started, so the trace speaks the same taxonomy
// as the body, the log and the metric: error.type is the cause code, the
// span status is Error with the detail sentence, and the response status
// is the one the client gets (for a gRPC answer, HTTP 200 and the gRPC
// status in rpc.response.status_code).
//
// Caddy's tracing handler (otelhttp) sets the span status again when the
// response ends, and for a 5xx it does so with an empty description, so
// the detail is also recorded as an exception event, which survives.
// Without tracing the span is a no-op and nothing is recorded.
func recordSpan(r *http.Request, f failure, v bodyValues) {
	span := trace.SpanFromContext(r.Context())
	if !span.IsRecording() {
		return
	}
	attrs := make([]attribute.KeyValue, 0, 3)
	attrs = append(attrs, semconv.ErrorTypeKey.String(f.cause))
	if isGRPC(r) {
		attrs = append(attrs,
			semconv.HTTPResponseStatusCode(http.StatusOK),
			semconv.RPCResponseStatusCodeKey.String(grpcCodeName(grpcCode(f))),
		)
	} else {
		attrs = append(attrs, semconv.HTTPResponseStatusCode(f.status))
	}
	span.SetAttributes(attrs...)
	span.AddEvent(semconv.ExceptionEventName, trace.WithAttributes(
		semconv.ExceptionTypeKey.String(f.cause),
		semconv.ExceptionMessageKey.String(v.Detail),
	))
	span.SetStatus(otelcodes.Error, v.Detail)
}
