package upstreamerrors

import "net/http"

// Causes of requests that ended by the client's doing. They are not
// upstream errors: they are logged as "client error" at info (debug for a
// client leaving a response in progress, as closing a stream is how SSE
// and downloads end) and counted in caddy_http_upstream_errors_client_total,
// never in caddy_http_upstream_errors_total.
const (
	// CauseClientCanceled: the client left before the response started;
	// logged with status 499, as Caddy's access log records it.
	CauseClientCanceled = "client_canceled"
	// CauseClientDisconnected: the client left while the response was
	// being sent; logged with the status that was sent.
	CauseClientDisconnected = "client_disconnected"
	// CauseClientBodyIncomplete: the client's request body broke off
	// (shorter than its Content-Length, a cut chunked stream, a reset),
	// so no upstream could be given the request. Answered 400 and the
	// connection closed, as the rest of the body cannot be trusted.
	CauseClientBodyIncomplete = "client_body_incomplete"
)

// clientCauses are the client-side causes, with the RFC 9209 error type
// of the one that is answered.
var clientCauses = map[string]string{
	CauseClientCanceled:       "",
	CauseClientDisconnected:   "",
	CauseClientBodyIncomplete: "http_request_error",
}

// isClientCause reports whether cause is the client's doing.
func isClientCause(cause string) bool {
	_, ok := clientCauses[cause]
	return ok
}

// clientBodyDetail is the problem detail of CauseClientBodyIncomplete.
const clientBodyDetail = "The request body ended before it was complete."

// clientBodyFailure is the answer to a request body the client cut short.
func clientBodyFailure(err error) failure {
	return failure{cause: CauseClientBodyIncomplete, status: http.StatusBadRequest, err: err}
}
