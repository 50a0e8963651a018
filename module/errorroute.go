package upstreamerrors

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
)

// Causes of the errors of the site's own handlers, answered in an error
// route (`handle_errors { upstream_errors }`). Each is the RFC 9209 error
// type for what happened, so Proxy-Status, body, log and metric keep
// speaking one taxonomy.
const (
	// CauseHTTPRequestDenied: the site refused the request by policy
	// (401, 403 and 429: basic_auth, an IP or rate limit).
	CauseHTTPRequestDenied = "http_request_denied"
	// CauseHTTPRequestError: any other 4xx of the site's own, such as
	// file_server's 404.
	CauseHTTPRequestError = "http_request_error"
	// CauseProxyInternalResponse: any other 5xx the site answered by
	// itself, such as `error 503` for a maintenance window. (A 500 of
	// the site's own is CauseProxyInternalError.)
	CauseProxyInternalResponse = "proxy_internal_response"
)

// localCauses are the causes of the site's own errors; each is its own
// Proxy-Status error type.
var localCauses = []string{CauseHTTPRequestDenied, CauseHTTPRequestError, CauseProxyInternalError, CauseProxyInternalResponse}

// serveError answers the error an error route is handling. An upstream
// failure from reverse_proxy (a route without upstream_errors of its own)
// is classified as usual; any other handler's error keeps its status and
// gets a cause for the site's own errors. The next handler is not called:
// this is the response.
func (h *Handler) serveError(w http.ResponseWriter, r *http.Request, handled error) error {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	rw := newResponseWriter(h, w, repl)
	defer rw.release()
	if fromProxy(handled) {
		if f, ok := h.proxyFailure(handled); ok {
			if f.cause == CauseClientCanceled {
				h.report(r, f)
				return nil
			}
			h.respond(rw, r, f)
			return nil
		}
	}
	h.respond(rw, r, localFailure(handled))
	return nil
}

// localFailure describes an error of the site's own handlers. Its status
// is kept, as the site chose it: status_map is for upstream failures. An
// error without a 4xx or 5xx status is answered 500, as Caddy does.
func localFailure(err error) failure {
	f := failure{status: http.StatusInternalServerError, err: err, local: true}
	if herr, ok := handlerError(err); ok {
		if herr.StatusCode >= 400 && herr.StatusCode <= 599 {
			f.status = herr.StatusCode
		}
		if herr.Err != nil {
			// the log wants the message, not Caddy's error ID and call site
			f.err = herr.Err
		}
	}
	f.cause = localCause(f.status)
	return f
}

// localCause names the cause of a site's own error of status.
func localCause(status int) string {
	switch {
	case status == http.StatusUnauthorized, status == http.StatusForbidden, status == http.StatusTooManyRequests:
		return CauseHTTPRequestDenied
	case isClientError(status):
		return CauseHTTPRequestError
	case status == http.StatusInternalServerError:
		return CauseProxyInternalError
	}
	return CauseProxyInternalResponse
}

// serverErrorDetails are the details of 5xx errors the site answers by
// itself; unlike the upstream sentences they blame no upstream server.
var serverErrorDetails = map[int]string{
	http.StatusInternalServerError:     "The server failed to complete the request.",
	http.StatusNotImplemented:          "The server does not support what the request needs.",
	http.StatusBadGateway:              "The server could not get a valid response to complete the request.",
	http.StatusServiceUnavailable:      "The service is temporarily unavailable, overloaded or in maintenance.",
	http.StatusGatewayTimeout:          "The server could not get a response in time.",
	http.StatusHTTPVersionNotSupported: "The request's HTTP version is not supported.",
	http.StatusInsufficientStorage:     "The server cannot store what the request needs.",
}

// serverErrorDetail is the detail of a site's own 5xx without its own
// sentence.
const serverErrorDetail = "The server could not complete the request."

// serverDetail returns the detail for a site's own 5xx.
func serverDetail(status int) string {
	return detailOr(serverErrorDetails, status, serverErrorDetail)
}
