package upstreamerrors

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Why draining an intercepted upstream body stopped early. The proxy logs
// the read error itself; these name the module's side of it.
var (
	// errDiscardLimit stops the proxy from copying an intercepted upstream
	// body past the discard limit.
	errDiscardLimit = errors.New("upstream_errors: intercepted response body exceeds discard_limit")
	// errDiscardTime is logged when the upstream was abandoned because its
	// intercepted body did not end within the discard window.
	errDiscardTime = errors.New("upstream_errors: intercepted response body did not end within the discard window")
	// errBodyFailed is logged when reading an intercepted body failed on
	// the upstream's side (a reset, a malformed chunk); reverse_proxy's
	// entry for the same request holds the read error.
	errBodyFailed = errors.New("upstream_errors: reading the intercepted response body failed")
	// errInvalidStatus is logged for an upstream status outside 100-599,
	// which RFC 9110 has a client treat as a 5xx it knows nothing about.
	errInvalidStatus = errors.New("upstream_errors: upstream response status is outside 100-599")
)

// responseWriter passes a response through untouched unless it is an
// upstream's response reverse_proxy is copying, its status is intercepted
// and its body is not JSON of a pass_json class; then the status and body
// never reach the client.
// It never buffers: a passed-through response is written as it comes.
type responseWriter struct {
	caddyhttp.ResponseWriterWrapper

	h    *Handler
	repl *caddy.Replacer
	// before holds the response header fields set before the next handler
	// ran, restored when an upstream response is replaced. A slice, not a
	// map: copying a few fields on every request and clearing them after
	// costs less than map assignments and a map clear.
	before []headerField

	// status is the response status written by the next handler: for an
	// intercepted response, the one the site chose (the upstream's unless
	// replace_status or copy_response changed it).
	status int
	// upstreamStatus is the status the upstream sent, for an intercepted
	// response.
	upstreamStatus int
	wroteHeader    bool
	intercepted    bool
	// invalid marks an upstream status outside 100-599.
	invalid bool
	// covered is set by an upstream_errors handler nested inside this
	// one: the inner handler's config decides, logs and counts whatever
	// happens in its scope, so this one passes it on untouched.
	covered bool
	// held marks the proxy's 499 for a request whose body the client cut
	// short; it is not written, as ServeHTTP answers 400 instead.
	held bool
	// body watches the client's request body for a read error; nil for
	// a request without one. The transport may keep it after release:
	// the writer only lets go of it.
	body      *clientBody
	discarded int64
	// discardBy is when draining an intercepted body is given up, so a
	// body that drips forever costs bounded time as well as memory.
	discardBy time.Time
	// drainErr is why the module stopped draining, if it did.
	drainErr error

	// abandon is set as the request's Cancel channel while the next
	// handler runs; closing it makes the proxy's transport drop the
	// upstream request even while a body read is blocked. It is closed
	// only for an intercepted response, so a pooled writer reuses it.
	abandon chan struct{}
	// armed is set once abandon may be closed: by timer, or already.
	armed bool
	// timer closes abandon when the discard window ends. It is kept with
	// its channel while a pooled writer reuses them, stopped: creating
	// one costs two allocations on every intercepted response.
	timer *time.Timer
}

// discardTime bounds how long an intercepted body is drained. It is a
// variable only so the package's tests can wait tenths of a second; it is
// set once, before any request.
var discardTime = time.Second

var writerPool = sync.Pool{New: func() any {
	return &responseWriter{before: make([]headerField, 0, 4), abandon: make(chan struct{})}
}}

// headerField is one response header field and its values.
type headerField struct {
	key    string
	values []string
}

// beforeValues returns the values of the field key had before the next
// handler ran.
func (rw *responseWriter) beforeValues(key string) []string {
	for _, f := range rw.before {
		if f.key == key {
			return f.values
		}
	}
	return nil
}

// newResponseWriter returns a pooled writer around w.
func newResponseWriter(h *Handler, w http.ResponseWriter, repl *caddy.Replacer) *responseWriter {
	rw := writerPool.Get().(*responseWriter)
	rw.ResponseWriter = w
	rw.h = h
	rw.repl = repl
	for k, v := range w.Header() {
		rw.before = append(rw.before, headerField{k, v})
	}
	return rw
}

// release returns rw to the pool. A request body it lent stays with the
// transport: reset drops rw's pointer to it, nothing else.
func (rw *responseWriter) release() {
	rw.reset()
	writerPool.Put(rw)
}

// reset readies rw for another request.
func (rw *responseWriter) reset() {
	abandon, timer := rw.abandon, rw.timer
	// Stop reports false for a timer that fired and for one that was not
	// running, which is how a channel abandonNow closed also looks
	if rw.armed && (timer == nil || !timer.Stop()) {
		// closed, or about to be: the next request needs its own, and a
		// timer of its own, as this one's function closes this channel
		abandon, timer = make(chan struct{}), nil
	}
	clear(rw.before) // drop the request's values until reused
	*rw = responseWriter{before: rw.before[:0], abandon: abandon, timer: timer}
}

// WriteHeader passes informational statuses and other handlers' responses
// through and swallows the head of an intercepted upstream response.
func (rw *responseWriter) WriteHeader(status int) {
	if rw.wroteHeader || rw.intercepted {
		return
	}
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		rw.ResponseWriter.WriteHeader(status)
		return
	}
	rw.status = status
	if rw.intercepts(status) {
		rw.intercept()
		return
	}
	if status == statusClientClosed && rw.body.failed() {
		// the proxy gave up because the client's request body broke:
		// ServeHTTP answers that instead of recording the client as gone
		rw.held = true
		return
	}
	rw.wroteHeader = true
	rw.ResponseWriter.WriteHeader(status)
}

// intercepts decides whether the response head being written is an
// upstream response to replace. Only a status an upstream sent during this
// call may be (whatever the site rewrote it to on its way), only when the
// status is listed and its body is not JSON that passes, and only when the
// head is the upstream's own, not a page the site wrote in handle_response.
// A status HTTP cannot carry is always replaced. Everything else, and every
// head inside an inner upstream_errors, passes without a stack walk.
func (rw *responseWriter) intercepts(status int) bool {
	if rw.covered {
		return false
	}
	up, ok := upstreamStatus(rw.repl)
	if !ok {
		return false
	}
	invalid := up < 100 || up > 599
	if !invalid && (!rw.h.intercepts(up) || rw.h.passesJSON(up, rw.Header())) {
		return false
	}
	if !rw.fromUpstream(status, up) {
		return false
	}
	rw.upstreamStatus, rw.invalid = up, invalid
	return true
}

// intercept starts draining an intercepted upstream body, bounded by the
// discard limit in bytes and by the discard window in time.
func (rw *responseWriter) intercept() {
	rw.intercepted = true
	if rw.invalid {
		// nothing of a response HTTP cannot carry is worth reading
		rw.drainErr = errInvalidStatus
		rw.abandonNow()
		return
	}
	rw.discardBy = time.Now().Add(discardTime)
	// a body announced too long to drain is abandoned at once
	if n, ok := announcedLength(rw.Header()); ok && n > rw.h.DiscardLimit {
		rw.discarded = rw.h.DiscardLimit
		rw.drainErr = errDiscardLimit
		rw.abandonNow()
		return
	}
	rw.armed = true
	if rw.timer != nil {
		// stopped when released, and bound to this same open channel
		rw.timer.Reset(discardTime)
		return
	}
	abandon := rw.abandon
	rw.timer = time.AfterFunc(discardTime, func() { close(abandon) })
}

// announcedLength returns hdr's Content-Length if it has a valid one. A
// body of unknown length is common on the error path (a chunked page),
// and parsing the empty value would allocate its error.
func announcedLength(hdr http.Header) (int64, bool) {
	cl := hdr.Get("Content-Length")
	if cl == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(cl, 10, 64)
	if err != nil {
		return 0, false
	}
	return n, true
}

// abandonNow drops the upstream request at once.
func (rw *responseWriter) abandonNow() {
	if rw.armed {
		return
	}
	rw.armed = true
	close(rw.abandon)
}

// drainError says why an intercepted body's copy ended in an abort.
func (rw *responseWriter) drainError() error {
	if rw.drainErr != nil {
		return rw.drainErr
	}
	if !time.Now().Before(rw.discardBy) {
		return errDiscardTime
	}
	return errBodyFailed
}

// Write streams the body, or discards an intercepted one up to the limit.
func (rw *responseWriter) Write(p []byte) (int, error) {
	if !rw.wroteHeader && !rw.intercepted {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.intercepted {
		return rw.discard(len(p))
	}
	return rw.ResponseWriter.Write(p)
}

// ReadFrom keeps io.Copy from bypassing interception.
func (rw *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !rw.wroteHeader && !rw.intercepted {
		rw.WriteHeader(http.StatusOK)
	}
	if rw.intercepted {
		var buf [512]byte
		var total int64
		for {
			n, err := r.Read(buf[:])
			if n > 0 {
				if _, derr := rw.discard(n); derr != nil {
					return total, derr
				}
				total += int64(n)
			}
			if err == io.EOF {
				return total, nil
			}
			if err != nil {
				return total, err
			}
		}
	}
	return rw.ResponseWriterWrapper.ReadFrom(r)
}

// discard accounts for n bytes of an intercepted body.
func (rw *responseWriter) discard(n int) (int, error) {
	if rw.drainErr != nil {
		return 0, rw.drainErr
	}
	if rw.discarded+int64(n) > rw.h.DiscardLimit {
		rw.drainErr = errDiscardLimit
		return 0, rw.drainErr
	}
	if time.Now().After(rw.discardBy) {
		rw.drainErr = errDiscardTime
		return 0, rw.drainErr
	}
	rw.discarded += int64(n)
	return n, nil
}

// Flush flushes a passed-through response; an intercepted one has nothing
// on the wire to flush.
func (rw *responseWriter) Flush() {
	if rw.intercepted {
		return
	}
	if !rw.wroteHeader {
		rw.WriteHeader(http.StatusOK)
	}
	//nolint:bodyclose
	_ = http.NewResponseController(rw.ResponseWriter).Flush()
}

// Interface guards
var (
	_ http.ResponseWriter = (*responseWriter)(nil)
	_ http.Flusher        = (*responseWriter)(nil)
	_ io.ReaderFrom       = (*responseWriter)(nil)
)
