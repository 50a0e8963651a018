package upstreamerrors

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
)

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
			if f.cause == causeClientCanceled {
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
		return causeHTTPRequestDenied
	case isClientError(status):
		return causeHTTPRequestError
	case status == http.StatusInternalServerError:
		return causeProxyInternalError
	}
	return causeProxyInternalResponse
}
