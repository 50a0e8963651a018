package upstreamerrors

import (
	"io"
	"sync/atomic"
)

// clientBody stands in for the request body while the next handler runs,
// to tell a body the client cut short (the client's fault, answered 400)
// from an upstream that failed.
//
// A transport may read or close the body after the handler returned, from
// any goroutine and in any order: net/http lets RoundTrip close it later
// from another goroutine, and an HTTP/2 stream keeps writing it after the
// response head arrived. Nothing says when a transport has made its last
// call, so no point in time makes the stand-in safe to reuse. One is made
// for each request that has a body and is never changed once lent: the
// pooled writer only points at it and lets go of it when released, so a
// late call always reaches its own request's body, never nil and never a
// later request's. Requests without content, the bulk of a site's traffic,
// lend nothing and cost nothing.
type clientBody struct {
	// rc is the client's body; set before the stand-in is lent, never
	// changed after.
	rc  io.ReadCloser
	err atomic.Pointer[error]
	// closed is set before the body is closed: a read that fails after
	// it (an HTTP/2 transport closes the body while another goroutine
	// still reads it, when the upstream resets the stream) failed by the
	// proxy's doing, not the client's.
	closed atomic.Bool
}

// Read reads the client's body and remembers the first failure. io.EOF
// is the end of a complete body: net/http reports a body shorter than
// its Content-Length as io.ErrUnexpectedEOF.
func (b *clientBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if err != nil && err != io.EOF && b.err.Load() == nil && !b.closed.Load() {
		failure := err // only a failure moves to the heap, not every read
		b.err.CompareAndSwap(nil, &failure)
	}
	return n, err
}

// Close closes the client's body.
func (b *clientBody) Close() error {
	b.closed.Store(true)
	return b.rc.Close()
}

// failure returns the error reading the client's body, if any. A request
// without a body (b nil) has none.
func (b *clientBody) failure() error {
	if b == nil {
		return nil
	}
	if p := b.err.Load(); p != nil {
		return *p
	}
	return nil
}

// failed reports whether reading the client's body failed.
func (b *clientBody) failed() bool { return b != nil && b.err.Load() != nil }

var _ io.ReadCloser = (*clientBody)(nil)
