package upstreamerrors

import (
	"errors"
	"net/http"
	"slices"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// failure is one upstream failure being answered or logged.
type failure struct {
	cause          string
	status         int
	upstreamStatus int
	err            error
	// local marks an error of the site's own handlers (file_server,
	// basic_auth, error) answered in an error route.
	local bool
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) (err error) {
	if handled, ok := r.Context().Value(caddyhttp.ErrorCtxKey).(error); ok {
		// in an error route (handle_errors) the error being handled is
		// the one to answer
		return h.serveError(w, r, handled)
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	rw := newResponseWriter(h, w, repl)
	var origin upstreamOrigin
	origin.hide(repl)
	// the transport drops the upstream request when abandon closes, which
	// bounds a drain in wall time even while the upstream sends nothing
	prevCancel := r.Cancel //nolint:staticcheck // the one handle on the proxy's upstream request that costs no allocation
	r.Cancel = rw.abandon  //nolint:staticcheck
	defer func() {
		r.Cancel = prevCancel //nolint:staticcheck
		origin.restore()
		rw.release()
	}()
	defer func() {
		if v := recover(); v != nil {
			err = h.recovered(rw, r, v)
		}
	}()

	err = next.ServeHTTP(rw, r)

	switch {
	case rw.intercepted:
		h.replace(rw, r, err)
		return nil
	case err != nil:
		return h.handleError(rw, r, err)
	case rw.status == statusClientClosed:
		h.log(r, failure{cause: CauseClientCanceled, status: statusClientClosed, err: r.Context().Err()})
	}
	return nil
}

// errResponseAborted is logged when a response fails after its headers
// were sent; the proxy has logged the underlying error.
var errResponseAborted = errors.New("response aborted after headers were sent")

// statusClientClosed is what reverse_proxy records when the client left.
const statusClientClosed = 499

// handleError answers an error from reverse_proxy if it is an upstream
// failure, and returns any other error untouched for handle_errors.
func (h *Handler) handleError(rw *responseWriter, r *http.Request, err error) error {
	if !fromProxy(err) {
		return err
	}
	if rw.wroteHeader {
		// the response is already on the wire; nothing can replace it
		h.log(r, failure{cause: CauseHTTPResponseIncomplete, status: rw.status, err: err})
		return err
	}
	f, ok := h.proxyFailure(err)
	if !ok {
		return err
	}
	if f.cause == CauseClientCanceled {
		h.log(r, f)
		return nil
	}
	h.respond(rw, r, f)
	return nil
}

// proxyFailure classifies an error reverse_proxy returned. ok is false
// for an error that is not an upstream failure.
func (h *Handler) proxyFailure(err error) (f failure, ok bool) {
	var herr caddyhttp.HandlerError
	status := 0
	if errors.As(err, &herr) {
		status = herr.StatusCode
	}
	cause, ok := classify(err)
	if cause == CauseClientCanceled || status == statusClientClosed {
		return failure{cause: CauseClientCanceled, status: statusClientClosed, err: err}, true
	}
	if !ok && status != http.StatusBadGateway && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout {
		return failure{}, false
	}
	f = failure{cause: cause, err: err}
	if herr.Err != nil {
		// the log wants the cause, not Caddy's error ID and call site
		f.err = herr.Err
	}
	if cause == CauseHTTPResponseStatus && isServerError(status) {
		// a retry_match on the response ran out of upstreams to try
		f.upstreamStatus = status
		f.status = h.statusForUpstream(status)
	} else {
		f.status = h.statusForCause(cause)
	}
	return f, true
}

// replace answers an intercepted upstream response.
func (h *Handler) replace(rw *responseWriter, r *http.Request, err error) {
	if rw.invalid {
		h.respond(rw, r, failure{cause: CauseHTTPProtocolError, status: h.statusForCause(CauseHTTPProtocolError), err: errInvalidStatus})
		return
	}
	status := rw.status
	if !isClientError(status) {
		// a 4xx keeps its status: the client's request is what failed
		status = h.statusForUpstream(status)
	}
	h.respond(rw, r, failure{
		cause:          CauseHTTPResponseStatus,
		status:         status,
		upstreamStatus: rw.status,
		err:            err,
	})
}

// recovered handles a panic from the next handler. reverse_proxy aborts
// with http.ErrAbortHandler when copying a body fails: for an intercepted
// response that is the module abandoning the drain, the upstream failing
// inside its error body or the client leaving; the response is replaced
// unless the client left. After headers went out, the client connection
// must be aborted so a truncated body never looks complete.
func (h *Handler) recovered(rw *responseWriter, r *http.Request, v any) error {
	if v != http.ErrAbortHandler { //nolint:errorlint // sentinel compared as panic value
		panic(v)
	}
	if rw.intercepted {
		if err := r.Context().Err(); err != nil {
			h.log(r, failure{cause: CauseClientCanceled, status: statusClientClosed, err: err})
			return nil
		}
		h.replace(rw, r, rw.drainError())
		return nil
	}
	if rw.wroteHeader && rw.upstream {
		cause := CauseHTTPResponseIncomplete
		if r.Context().Err() != nil {
			cause = CauseClientCanceled
		}
		h.log(r, failure{cause: cause, status: rw.status, err: errResponseAborted})
	}
	panic(v)
}

// respond writes the normalized response for f and logs it.
func (h *Handler) respond(rw *responseWriter, r *http.Request, f failure) {
	w := rw.ResponseWriter
	hdr := w.Header()

	// keep allowlisted upstream fields, drop the rest of the upstream's
	var kept http.Header
	if f.upstreamStatus != 0 {
		kept = h.keptFields(hdr, f.status)
	}
	via := ""
	if f.upstreamStatus != 0 {
		via = rw.proxyVia()
	}
	clear(hdr)
	for k, v := range rw.before {
		hdr[k] = v
	}
	for k, v := range kept {
		hdr[k] = v
	}
	if _, ok := kept["Via"]; !ok && via != "" {
		hdr["Via"] = append(slices.Clip(hdr["Via"]), via)
	}

	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	v := bodyValues{
		Status:    f.status,
		Title:     http.StatusText(f.status),
		Detail:    detailFor(f),
		Cause:     f.cause,
		Class:     statusClass(f.status),
		Type:      h.problemType(f.cause),
		Instance:  instance(r),
		RequestID: h.requestID(r, repl),
	}
	if v.Title == "" {
		v.Title = "Error"
	}
	if v.Detail == "" {
		v.Detail = causes[CauseUpstreamError].detail
	}
	if repl != nil {
		repl.Set("http.upstream_errors.status", v.Status)
		repl.Set("http.upstream_errors.class", v.Class)
		repl.Set("http.upstream_errors.cause", v.Cause)
		repl.Set("http.upstream_errors.title", v.Title)
		repl.Set("http.upstream_errors.detail", v.Detail)
		repl.Set("http.upstream_errors.type", v.Type)
		repl.Set("http.upstream_errors.instance", v.Instance)
		repl.Set("http.upstream_errors.request_id", v.RequestID)
	}

	format := negotiate(r.Header.Get("Accept"), h.Format)
	body := h.render(format, v, repl)

	if v.RequestID != "" {
		hdr.Set(h.RequestIDHeader, v.RequestID)
	}
	if f.status == http.StatusServiceUnavailable && hdr.Get("Retry-After") == "" {
		hdr.Set("Retry-After", h.retryAfter)
	}
	if !h.DisableProxyStatus {
		hdr.Set("Proxy-Status", proxyStatus(h.ProxyStatusName, f))
	}
	hdr.Set("Content-Type", mediaType(format))
	hdr.Add("Vary", "Accept")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", itoa(len(body)))

	h.log(r, f)

	w.WriteHeader(f.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// log writes the one entry for a normalized response.
func (h *Handler) log(r *http.Request, f failure) {
	lvl := zapcore.ErrorLevel
	if f.cause == CauseClientCanceled || isClientError(f.status) {
		// a flood of 404s must not drown the errors that need a look
		lvl = zapcore.InfoLevel
	}
	server := ""
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok {
		server = srv.Name()
	}
	metrics.responses.WithLabelValues(server, itoa(f.status), statusClass(f.status), f.cause).Inc()

	msg := "upstream error"
	if f.local {
		msg = "handler error"
	}
	c := h.logger.Check(lvl, msg)
	if c == nil {
		return
	}
	fields := make([]zap.Field, 0, 10)
	fields = append(fields,
		zap.Int("status", f.status),
		zap.String("class", statusClass(f.status)),
		zap.String("cause", f.cause),
	)
	if f.upstreamStatus != 0 {
		fields = append(fields, zap.Int("upstream_status", f.upstreamStatus))
	}
	fields = append(fields,
		zap.String("method", r.Method),
		zap.String("uri", originalRequest(r).RequestURI),
	)
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		if id := h.requestID(r, repl); id != "" {
			fields = append(fields, zap.String("request_id", id))
		}
		// a site's own error names no upstream, whatever proxied before it
		if up, ok := repl.GetString("http.reverse_proxy.upstream.hostport"); ok && up != "" && !f.local {
			fields = append(fields, zap.String("upstream", up))
		}
	}
	if f.err != nil {
		fields = append(fields, zap.Error(f.err))
	}
	c.Write(fields...)
}

// statusClass returns "5xx" for 503 and so on.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "unknown"
	}
	return string(rune('0'+status/100)) + "xx"
}
