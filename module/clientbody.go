package upstreamerrors

import (
	"io"
	"sync/atomic"
)

// clientBody stands in for the request body while the next handler runs,
// to tell a body the client cut short (the client's fault, answered 400)
// from an upstream that failed. It lives in the pooled writer, so watching
// a body allocates nothing.
//
// A transport may still read or close the body after the handler returns
// (net/http documents that RoundTrip may close it from another goroutine),
// so a writer whose body is still lent is never reused: the transport's
// late reads must reach that request's body, not the next one's.
type clientBody struct {
	rc    io.ReadCloser
	state atomic.Int32
	err   atomic.Pointer[error]
}

// clientBody states.
const (
	bodyIdle     int32 = iota // not handed out
	bodyLent                  // the next handler may be reading it
	bodyClosed                // closed by whoever read it
	bodyOrphaned              // the handler returned while it was lent
)

// lend starts watching rc.
func (b *clientBody) lend(rc io.ReadCloser) {
	b.rc = rc
	b.state.Store(bodyLent)
}

// Read reads the client's body and remembers the first failure. io.EOF
// is the end of a complete body: net/http reports a body shorter than
// its Content-Length as io.ErrUnexpectedEOF.
func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF && b.err.Load() == nil {
		failure := err // only a failure moves to the heap, not every read
		b.err.CompareAndSwap(nil, &failure)
	}
	return n, err
}

// Close closes the client's body.
func (b *clientBody) Close() error {
	b.state.CompareAndSwap(bodyLent, bodyClosed)
	return b.rc.Close()
}

// failure returns the error reading the client's body, if any.
func (b *clientBody) failure() error {
	if p := b.err.Load(); p != nil {
		return *p
	}
	return nil
}

// failed reports whether reading the client's body failed.
func (b *clientBody) failed() bool { return b.err.Load() != nil }

// settle ends the loan when the handler returns. It reports false when
// the body may still be read, so its writer must not be reused.
func (b *clientBody) settle() bool {
	if b.state.CompareAndSwap(bodyLent, bodyOrphaned) {
		return false
	}
	b.rc = nil
	b.state.Store(bodyIdle)
	b.err.Store(nil)
	return true
}

var _ io.ReadCloser = (*clientBody)(nil)
