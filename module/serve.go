package upstreamerrors

import (
	"cmp"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/taxonomy"
)

// failure is one upstream failure being answered or logged.
type failure struct {
	cause          string
	status         int
	upstreamStatus int
	err            error
	// invalid marks an upstream status outside 100-599: it is logged,
	// while the response says the upstream's answer was not HTTP.
	invalid bool

	// errText is err's message when classification already built it.
	errText string

	// requestID, uri and repl are filled in once by respond for the log.
	requestID string
	uri       string
	repl      *caddy.Replacer
	// local marks an error of the site's own handlers (file_server,
	// basic_auth, error) answered in an error route.
	local bool
	// retryAfter replaces the configured Retry-After, if set.
	retryAfter string
}

// ServeHTTP implements caddyhttp.MiddlewareHandler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) (err error) {
	if win := h.maintenance.covering(r); win != nil && h.serveMaintenance(w, r, win) {
		return nil
	}
	if handled, ok := r.Context().Value(caddyhttp.ErrorCtxKey).(error); ok {
		// in an error route (handle_errors) the error being handled is
		// the one to answer
		return h.serveError(w, r, handled)
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	rw := newResponseWriter(h, w, repl)
	// an upstream_errors further out leaves this scope to this one
	coverOuter(w)
	var origin upstreamOrigin
	origin.hide(repl)
	// the transport drops the upstream request when abandon closes, which
	// bounds a drain in wall time even while the upstream sends nothing
	prevCancel := r.Cancel //nolint:staticcheck // the one handle on the proxy's upstream request that costs no allocation
	r.Cancel = rw.abandon  //nolint:staticcheck
	prevBody := r.Body
	// a request without content (ContentLength 0) has no body to cut short,
	// though Caddy's server may have wrapped an empty one; the proxy never
	// hands such a body to its transport, which would close it
	if prevBody != nil && prevBody != http.NoBody && r.ContentLength != 0 {
		rw.body = &clientBody{rc: prevBody}
		r.Body = rw.body
	}
	defer func() {
		r.Cancel = prevCancel //nolint:staticcheck
		r.Body = prevBody
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
	case rw.covered:
		// an inner upstream_errors answered, logged and counted
		return err
	case rw.intercepted:
		h.replace(rw, r, err)
		return nil
	case rw.held || err != nil && !rw.wroteHeader && rw.body.failed() && fromProxy(err):
		h.respond(rw, r, clientBodyFailure(rw.body.failure()))
		return nil
	case err != nil:
		return h.handleError(rw, r, err)
	case rw.status == statusClientClosed:
		h.report(r, failure{cause: causeClientCanceled, status: statusClientClosed, err: r.Context().Err()})
	}
	return nil
}

// coverOuter tells the nearest upstream_errors writer under w, if any,
// that a nested handler now owns the request. Caddy's own wrappers
// (encode, header, intercept, templates) all unwrap.
func coverOuter(w http.ResponseWriter) {
	for w != nil {
		switch t := w.(type) {
		case *responseWriter:
			t.covered = true
			return
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return
		}
	}
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
		cause := causeHTTPResponseIncomplete
		if r.Context().Err() != nil {
			cause = causeClientDisconnected
		}
		h.report(r, failure{cause: cause, status: rw.status, err: err})
		return err
	}
	f, ok := h.proxyFailure(err)
	if !ok {
		return err
	}
	if f.cause == causeClientCanceled {
		h.report(r, f)
		return nil
	}
	h.respond(rw, r, f)
	return nil
}

// proxyFailure classifies an error reverse_proxy returned. ok is false
// for an error that is not an upstream failure.
func (h *Handler) proxyFailure(err error) (f failure, ok bool) {
	herr, _ := handlerError(err)
	status := herr.StatusCode
	// the log wants the cause, not Caddy's error ID and call site
	inner := err
	if herr.Err != nil {
		inner = herr.Err
	}
	cause, ok, msg := classifyText(inner)
	if cause == causeClientCanceled || status == statusClientClosed {
		return failure{cause: causeClientCanceled, status: statusClientClosed, err: err}, true
	}
	if !ok && status != http.StatusBadGateway && status != http.StatusServiceUnavailable && status != http.StatusGatewayTimeout {
		return failure{}, false
	}
	f = failure{cause: cause, err: inner, errText: msg}
	if cause == causeHTTPResponseStatus && isServerError(status) {
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
	up := rw.upstreamStatus
	f := failure{cause: causeHTTPResponseStatus, upstreamStatus: up, err: err}
	if rw.invalid {
		f.cause, f.invalid, f.err = causeHTTPProtocolError, true, errInvalidStatus
	}
	switch {
	case rw.status != up && rw.status >= 200 && rw.status <= 599:
		// replace_status or copy_response chose the status: the site's
		// choice stands, only the upstream's head and body go
		f.status = rw.status
	case rw.invalid:
		f.status = h.statusForCause(causeHTTPProtocolError)
	case isClientError(up):
		// a 4xx keeps its status: the client's request is what failed
		f.status = up
	default:
		f.status = h.statusForUpstream(up)
	}
	h.respond(rw, r, f)
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
	if rw.covered {
		panic(v)
	}
	if rw.intercepted {
		if err := r.Context().Err(); err != nil {
			h.report(r, failure{cause: causeClientCanceled, status: statusClientClosed, err: err})
			return nil
		}
		h.replace(rw, r, rw.drainError())
		return nil
	}
	// the frames of the failed copy are still on the stack while the
	// panic is being recovered: only an upstream body that broke counts
	if rw.wroteHeader && stackWriter() == writerFinalize {
		cause := causeHTTPResponseIncomplete
		if r.Context().Err() != nil {
			cause = causeClientDisconnected
		}
		h.report(r, failure{cause: cause, status: rw.status, err: errResponseAborted})
	}
	panic(v)
}

// respond writes the normalized response for f and logs it.
func (h *Handler) respond(rw *responseWriter, r *http.Request, f failure) {
	w := rw.ResponseWriter
	hdr := w.Header()

	// keep allowlisted upstream fields, drop the rest of the upstream's
	var kept http.Header
	if f.upstreamStatus != 0 && !f.invalid {
		kept = h.keptFields(hdr, f.status)
	}
	via := ""
	if f.upstreamStatus != 0 && !f.invalid {
		via = rw.proxyVia()
	}
	clear(hdr)
	for _, fld := range rw.before {
		hdr[fld.key] = fld.values
	}
	maps.Copy(hdr, kept)

	// one backing array for the fields set fresh on every response: the
	// module's own and the proxy's Via
	vals := make([]string, 8)
	set := func(i int, k, val string) {
		vals[i] = val
		hdr[k] = vals[i : i+1 : i+1]
	}
	if _, ok := kept["Via"]; !ok && via != "" {
		if prior := hdr["Via"]; len(prior) > 0 {
			hdr["Via"] = append(slices.Clip(prior), via)
		} else {
			set(7, "Via", via)
		}
	}

	repl := rw.repl
	path, uri := originalURI(r)
	f.requestID = h.requestID(r, repl)
	f.uri = uri
	f.repl = repl
	v := bodyValues{
		Status:    f.status,
		Title:     http.StatusText(f.status),
		Detail:    detailFor(f),
		Cause:     f.cause,
		Class:     statusClass(f.status),
		Type:      h.problemType(f.cause),
		Instance:  path,
		RequestID: f.requestID,
	}
	if v.Title == "" {
		v.Title = "Error"
	}
	if v.Detail == "" {
		v.Detail = causes[causeUpstreamError].Detail
	}
	setPlaceholders(repl, &v)

	setRetryAfter(hdr, f.status, cmp.Or(f.retryAfter, h.retryAfter))
	format := negotiate(r.Header.Values("Accept"), h.Format)
	if format == FormatHTML {
		v.Refresh = pageRefresh(hdr, f.status)
	}
	// the body is copied by Write and not kept: its buffer is reused
	buf := bodyBuffers.Get().(*[]byte)
	body := h.render((*buf)[:0], format, v, repl)
	defer recycleBody(buf, body)

	if v.RequestID != "" {
		set(0, h.RequestIDHeader, v.RequestID)
	}
	if !h.DisableProxyStatus {
		set(1, "Proxy-Status", proxyStatus(h.ProxyStatusName, f))
	}
	set(2, "Content-Type", mediaType(format))
	if vary := hdr["Vary"]; len(vary) > 0 {
		hdr["Vary"] = append(slices.Clip(vary), "Accept")
	} else {
		set(3, "Vary", "Accept")
	}
	set(4, "Cache-Control", "no-store")
	set(5, "X-Content-Type-Options", "nosniff")
	set(6, "Content-Length", strconv.Itoa(len(body)))
	if f.cause == causeClientBodyIncomplete {
		// the rest of a broken body must not be read as the next request
		hdr["Connection"] = connectionClose
	}

	h.report(r, f)
	recordSpan(r, f, v)
	if isGRPC(r) {
		h.respondGRPC(w, f, v)
		return
	}

	w.WriteHeader(f.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

var connectionClose = []string{"close"}

// report counts f in its metric and writes its one log entry: every
// failure the module answers or only logs goes through here once. What
// the client did is counted apart from what an upstream did.
func (h *Handler) report(r *http.Request, f failure) {
	server := ""
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok {
		server = srv.Name()
	}
	if isClientCause(f.cause) {
		countClient(server, f.cause)
	} else {
		countResponse(server, f.status, f.cause)
		h.recordFailure(r, &f, server)
	}
	h.log(r, f)
}

// log writes the log entry for f.
func (h *Handler) log(r *http.Request, f failure) {
	lvl, msg := zapcore.ErrorLevel, "upstream error"
	if info, ok := taxonomy.Lookup(f.cause); ok {
		lvl = info.Level
		if info.Class == taxonomy.Client {
			msg = "client error"
		}
	}
	switch {
	case f.cause == causeMaintenance:
		msg = "maintenance"
	case isClientError(f.status) && lvl > zapcore.InfoLevel:
		// a flood of 404s must not drown the errors that need a look
		lvl = zapcore.InfoLevel
	}
	if f.local {
		msg = "handler error"
	}
	c := h.logger.Check(lvl, msg)
	if c == nil {
		return
	}
	if f.uri == "" {
		_, f.uri = originalURI(r)
	}
	repl := f.repl
	if repl == nil {
		repl, _ = r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	}
	if f.requestID == "" {
		f.requestID = h.requestID(r, repl)
	}
	// the cores get the fields through an interface, so an array here
	// would move to the heap on every entry; a pooled one is reused
	buf := logFieldsPool.Get().(*[maxLogFields]zap.Field)
	defer func() {
		clear(buf[:]) // drop the entry's strings and error until reused
		logFieldsPool.Put(buf)
	}()
	fields := append(buf[:0],
		zap.Int("status", f.status),
		zap.String("class", statusClass(f.status)),
		zap.String("cause", f.cause),
	)
	if f.upstreamStatus != 0 {
		fields = append(fields, zap.Int("upstream_status", f.upstreamStatus))
	}
	fields = append(fields,
		zap.String("method", r.Method),
		zap.String("uri", f.uri),
	)
	if f.requestID != "" {
		fields = append(fields, zap.String("request_id", f.requestID))
	}
	// the upstream the metric and the recent failures name
	if up := failedUpstream(&f, repl); up != "" {
		fields = append(fields, zap.String("upstream", up))
	}
	switch {
	case f.errText != "":
		fields = append(fields, zap.String("error", f.errText))
	case f.err != nil:
		fields = append(fields, zap.Error(f.err))
	}
	c.Write(fields...)
}

// maxLogFields is the most fields log writes: status, class, cause,
// upstream_status, method, uri, request_id, upstream and error.
const maxLogFields = 9

var logFieldsPool = sync.Pool{New: func() any { return new([maxLogFields]zap.Field) }}

// statusClass returns "5xx" for 503 and so on.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "unknown"
	}
	return statusClasses[status/100]
}

var statusClasses = [...]string{1: "1xx", 2: "2xx", 3: "3xx", 4: "4xx", 5: "5xx"}
