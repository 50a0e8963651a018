package upstreamerrors

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// errDiscardLimit stops the proxy from copying an intercepted upstream body
// past the discard limit.
var errDiscardLimit = errors.New("upstream_errors: intercepted response body exceeds discard_limit")

// responseWriter passes a response through untouched unless its status is
// intercepted, in which case the status and body never reach the client.
// It never buffers: a passed-through response is written as it comes.
type responseWriter struct {
	caddyhttp.ResponseWriterWrapper

	h *Handler
	// before holds the response header fields set before the next handler
	// ran, restored when an upstream response is replaced.
	before http.Header

	status      int
	wroteHeader bool
	intercepted bool
	discarded   int64
	// discardBy is when draining an intercepted body is given up, so a
	// body that drips forever costs bounded time as well as memory.
	discardBy time.Time
}

// discardTime bounds how long an intercepted body is drained.
const discardTime = time.Second

var writerPool = sync.Pool{New: func() any { return &responseWriter{before: make(http.Header)} }}

// newResponseWriter returns a pooled writer around w.
func newResponseWriter(h *Handler, w http.ResponseWriter) *responseWriter {
	rw := writerPool.Get().(*responseWriter)
	rw.ResponseWriter = w
	rw.h = h
	for k, v := range w.Header() {
		rw.before[k] = v
	}
	return rw
}

// release returns rw to the pool.
func (rw *responseWriter) release() {
	clear(rw.before)
	*rw = responseWriter{before: rw.before}
	writerPool.Put(rw)
}

// WriteHeader passes informational and non-intercepted statuses through and
// swallows an intercepted one.
func (rw *responseWriter) WriteHeader(status int) {
	if rw.wroteHeader || rw.intercepted {
		return
	}
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		rw.ResponseWriter.WriteHeader(status)
		return
	}
	rw.status = status
	if rw.h.intercepts(status) {
		rw.intercepted = true
		rw.discardBy = time.Now().Add(discardTime)
		// a body announced too long to drain is abandoned at once
		if n, err := strconv.ParseInt(rw.Header().Get("Content-Length"), 10, 64); err == nil && n > rw.h.DiscardLimit {
			rw.discarded = rw.h.DiscardLimit
		}
		return
	}
	rw.wroteHeader = true
	rw.ResponseWriter.WriteHeader(status)
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
	if rw.discarded+int64(n) > rw.h.DiscardLimit || time.Now().After(rw.discardBy) {
		return 0, errDiscardLimit
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
