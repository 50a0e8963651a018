package upstreamerrors

import (
	"errors"
	"runtime"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// The module touches only what an upstream did. Caddy says so in these
// places, all read here:
//
//   - caddyhttp.Error records in HandlerError.Trace the function that
//     created the error, as "package.Function (file.go:line)" with the
//     package's last path element, so every error reverse_proxy returns
//     (for any transport, php_fastcgi's included) starts with
//     "reverseproxy.". Errors of other handlers (error, file_server,
//     static_response) keep their own trace, also when wrapped.
//   - reverse_proxy sets {http.reverse_proxy.status_code} to the upstream's
//     status, and {http.reverse_proxy.header.*} to its fields, as soon as
//     the upstream answers, before replace_status or handle_response can
//     change anything. A status written by any other handler does not set
//     them.
//   - The upstream's head and body reach the client only through
//     reverse_proxy's finalizeResponse (its default copy, and
//     copy_response in handle_response). It appends the proxy's own Via
//     element to the response header, then the upstream's fields, then
//     writes the status: the Via element and the function on the call
//     stack both say where the bytes come from, whatever the status was
//     changed to on the way.
const (
	proxyTracePrefix    = "reverseproxy."
	upstreamStatusPlace = "http.reverse_proxy.status_code"
	upstreamViaPlace    = "http.reverse_proxy.header.Via"

	// Functions of reverse_proxy that write to the client: the copy of an
	// upstream response, and the handler that runs handle_response
	// routes, whose own handlers (respond, error, file_server) write the
	// site's response instead of the upstream's.
	proxyFinalizeFunc = "github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy.(*Handler).finalizeResponse"
	proxyRoundTrip    = "github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy.(*Handler).reverseProxy"
)

// fromProxy reports whether err was returned by reverse_proxy.
func fromProxy(err error) bool {
	herr, ok := handlerError(err)
	return ok && strings.HasPrefix(herr.Trace, proxyTracePrefix)
}

// handlerError finds the caddyhttp.HandlerError in err's chain. Handlers
// return it as is, which a type assertion finds without a walk.
func handlerError(err error) (caddyhttp.HandlerError, bool) {
	if herr, ok := err.(caddyhttp.HandlerError); ok {
		return herr, true
	}
	return errors.AsType[caddyhttp.HandlerError](err)
}

// upstreamOrigin hides a {http.reverse_proxy.status_code} left by an
// earlier reverse_proxy (such as one in handle_errors' way) while the next
// handler runs, so only a status set during this call counts, and puts it
// back afterwards if nothing replaced it. It allocates nothing.
type upstreamOrigin struct {
	repl  *caddy.Replacer
	prior any
	had   bool
}

// hide removes a stale upstream status from repl.
func (o *upstreamOrigin) hide(repl *caddy.Replacer) {
	o.repl = repl
	if repl == nil {
		return
	}
	o.prior, o.had = repl.Get(upstreamStatusPlace)
	if o.had {
		repl.Delete(upstreamStatusPlace)
	}
}

// restore puts back a hidden status that was not set again.
func (o *upstreamOrigin) restore() {
	if !o.had {
		return
	}
	if _, set := o.repl.Get(upstreamStatusPlace); !set {
		o.repl.Set(upstreamStatusPlace, o.prior)
	}
}

// upstreamStatus returns the status of the latest upstream response
// reverse_proxy received during this call, before any rewrite.
func upstreamStatus(repl *caddy.Replacer) (int, bool) {
	if repl == nil {
		return 0, false
	}
	v, ok := repl.Get(upstreamStatusPlace)
	if !ok {
		return 0, false
	}
	n, ok := v.(int)
	return n, ok
}

// writer says which code is writing a response head, from the call stack.
type writer int

const (
	// writerOther is neither of the two below: a handler outside any
	// proxy, or a writer that held the response back and replays it
	// (encode's Close for an empty body, templates, intercept).
	writerOther writer = iota
	// writerFinalize is reverse_proxy copying an upstream response.
	writerFinalize
	// writerHandleResponse is a handle_response route's own handler.
	writerHandleResponse
)

// stackDepth bounds the frames read: the nearest proxy frame is a few
// wrappers below a write, or a route's handful of closures for
// handle_response.
const stackDepth = 64

// stackWriter finds the nearest reverse_proxy frame that is writing, on
// the caller's stack, up to this handler's own frame. It allocates
// nothing: runtime.FuncForPC names frames from the binary's tables
// (runtime.CallersFrames would allocate). Each pc is a return address,
// which the compiler keeps inside the calling function; the functions
// looked for are never inlined. A frame the runtime cannot name has a
// nil *Func, whose Name is "".
func stackWriter() writer {
	var pcs [stackDepth]uintptr
	n := runtime.Callers(3, pcs[:])
	for _, pc := range pcs[:n] {
		switch runtime.FuncForPC(pc).Name() {
		case proxyFinalizeFunc:
			return writerFinalize
		case proxyRoundTrip:
			return writerHandleResponse
		case moduleServeFunc:
			// this handler's own frame: a proxy further up wraps this
			// handler, and says nothing of what its next handler wrote
			return writerOther
		}
	}
	return writerOther
}

// moduleServeFunc is the handler's ServeHTTP, where a stack walk stops.
const moduleServeFunc = "github.com/caddy-upstream-errors/caddy-upstream-errors/module.(*Handler).ServeHTTP"

// fromUpstream reports whether the response head being written (status)
// is the upstream's response (of status up) that reverse_proxy copies,
// and not one a handler of the site wrote. When the signals disagree it
// says yes: replacing the site's own page costs less than leaking an
// upstream's.
func (rw *responseWriter) fromUpstream(status, up int) bool {
	if rw.proxyViaAdded() {
		return true
	}
	switch stackWriter() {
	case writerFinalize:
		return true
	case writerHandleResponse:
		return false
	case writerOther:
	}
	// a writer that held the response back replays it now: the
	// upstream's own field values in it, or the upstream's own status,
	// say it is the upstream's
	return status == up || rw.carriesUpstreamFields()
}

// carriesUpstreamFields reports whether the response header holds a field
// that was not there before the next handler ran and has the exact value
// the upstream sent ({http.reverse_proxy.header.*}). Fields any response
// has, which a site's own page may share with the upstream's, do not
// count.
func (rw *responseWriter) carriesUpstreamFields() bool {
	if rw.repl == nil {
		return false
	}
	for k, v := range rw.Header() {
		if len(v) == 0 || commonFields[k] || rw.beforeValues(k) != nil {
			continue
		}
		if up, ok := rw.repl.GetString("http.reverse_proxy.header." + k); ok && up == strings.Join(v, ",") {
			return true
		}
	}
	return false
}

// commonFields describe a representation or the exchange, not the server
// that made it: a site's page and an upstream's may well agree on them.
var commonFields = map[string]bool{
	"Content-Type": true, "Content-Length": true, "Content-Encoding": true,
	"Content-Language": true, "Date": true, "Vary": true, "Cache-Control": true,
	"Expires": true, "Last-Modified": true, "Etag": true, "Accept-Ranges": true,
	"Transfer-Encoding": true, "Connection": true,
}

// proxyViaAdded reports whether reverse_proxy's finalizeResponse added
// its own Via element during this call. copy_response_headers copies the
// upstream's Via elements too, so the proxy's own are counted against
// the upstream's: finalizeResponse adds exactly one more.
func (rw *responseWriter) proxyViaAdded() bool {
	vals := rw.Header()["Via"]
	// the site's own values come first, unless a handler removed them
	added := countProxyVia(vals[min(len(rw.beforeValues("Via")), len(vals)):])
	if added == 0 {
		return false
	}
	var upstream int
	if rw.repl != nil {
		if v, ok := rw.repl.GetString(upstreamViaPlace); ok {
			upstream = countProxyViaValue(v)
		}
	}
	return added > upstream
}

// countProxyVia counts the elements of Via field values that a Caddy
// proxy added ("1.1 Caddy", "HTTP/2.0 Caddy").
func countProxyVia(vals []string) int {
	n := 0
	for _, v := range vals {
		n += countProxyViaValue(v)
	}
	return n
}

// countProxyViaValue counts the Caddy elements of one comma-separated Via
// field value.
func countProxyViaValue(v string) int {
	n := 0
	for elem := range strings.SplitSeq(v, ",") {
		if strings.HasSuffix(strings.TrimSpace(elem), " Caddy") {
			n++
		}
	}
	return n
}
