package upstreamerrors

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// ownBody is a request body that knows whose it is and counts what was
// done to it, from any goroutine.
type ownBody struct {
	data   []byte
	mu     sync.Mutex
	off    int
	closes atomic.Int32
}

func newOwnBody(name string) *ownBody { return &ownBody{data: []byte(name + "'s body")} }

func (b *ownBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.off >= len(b.data) {
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	return n, nil
}

func (b *ownBody) Close() error {
	b.closes.Add(1)
	return nil
}

// lateCall runs f, a transport's call on a body after the handler
// returned, and turns a panic (a nil body) into an error.
func lateCall(f func()) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("panicked: %v", v)
		}
	}()
	f()
	return nil
}

// TestLateBodyCallsReachTheirOwnBody replays what transports do with a
// request body after the handler returned (read it, close it again, in
// any order) once a later request went through the same pooled writer:
// every call must reach the request's own body, never nil and never the
// later request's. A writer that cleared or reused the body it lent once
// the body was closed fails here without the race detector.
func TestLateBodyCallsReachTheirOwnBody(t *testing.T) {
	h, w, req := passThroughSetup(t)
	req.Method = http.MethodPost
	serve := func(body *ownBody, read, closeIt bool) io.ReadCloser {
		t.Helper()
		var held io.ReadCloser
		req.Body, req.ContentLength = body, int64(len(body.data))
		next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
			held = r.Body
			if read {
				_, _ = io.Copy(io.Discard, r.Body)
			}
			if closeIt {
				_ = r.Body.Close()
			}
			return passThroughNext.ServeHTTP(w, r)
		})
		w.reset()
		if err := h.ServeHTTP(w, req, next); err != nil {
			t.Fatal(err)
		}
		if req.Body != body {
			t.Fatal("the handler did not give the request its own body back")
		}
		return held
	}

	for _, tc := range []struct {
		name                   string
		readFirst, closeFirst  bool
		readLater, closeLater  bool
		laterRead, laterCloses bool
	}{
		{name: "closed then closed again", readFirst: true, closeFirst: true, closeLater: true},
		{name: "closed then read", readFirst: true, closeFirst: true, readLater: true},
		{name: "closed unread then read", closeFirst: true, readLater: true, closeLater: true},
		{name: "never touched then read and closed", readLater: true, closeLater: true},
		{name: "later request closed its own", readFirst: true, closeFirst: true, readLater: true, closeLater: true, laterRead: true, laterCloses: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for round := range 20 {
				first, second := newOwnBody("first"), newOwnBody("second")
				held := serve(first, tc.readFirst, tc.closeFirst)
				serve(second, tc.laterRead, tc.laterCloses)
				var got []byte
				if tc.readLater {
					if err := lateCall(func() { got, _ = io.ReadAll(held) }); err != nil {
						t.Fatalf("round %d: a late read %v", round, err)
					}
				}
				if tc.closeLater {
					if err := lateCall(func() { _ = held.Close() }); err != nil {
						t.Fatalf("round %d: a late close %v", round, err)
					}
				}
				if tc.readLater && !tc.readFirst && string(got) != string(first.data) {
					t.Fatalf("round %d: the late reader read %q; want its own request's body", round, got)
				}
				if tc.readLater && tc.readFirst && len(got) != 0 {
					t.Fatalf("round %d: reading a finished body again read %q; want nothing more of its own", round, got)
				}
				wantCloses := int32(0)
				if tc.closeFirst {
					wantCloses++
				}
				if tc.closeLater {
					wantCloses++
				}
				if n := first.closes.Load(); n != wantCloses {
					t.Fatalf("round %d: the first body was closed %d times; want %d", round, n, wantCloses)
				}
				wantLater := int32(0)
				if tc.laterCloses {
					wantLater = 1
				}
				if n := second.closes.Load(); n != wantLater || (!tc.laterRead && second.off != 0) {
					t.Fatalf("round %d: the later request's body was closed %d times and read to %d; want %d and untouched by the first request's transport", round, n, second.off, wantLater)
				}
			}
		})
	}
}

// TestLateBodyCallsUnderConcurrency has transports read and close request
// bodies from their own goroutines while the handler returns and other
// requests reuse the pooled writers, as an HTTP/2 transport does when an
// upstream answers before it read the body. Under the race detector it
// finds any field a late call and a release both touch; without it, every
// body must still be read whole by its own transport and closed once.
func TestLateBodyCallsUnderConcurrency(t *testing.T) {
	h, _, _ := passThroughSetup(t)
	const workers, rounds = 4, 300
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for wid := range workers {
		wg.Go(func() {
			w := &nopResponseWriter{hdr: make(http.Header)}
			base := httptest.NewRequest(http.MethodPost, "/upload", nil)
			var transports sync.WaitGroup
			defer transports.Wait()
			for i := range rounds {
				body := newOwnBody(fmt.Sprintf("worker %d request %d", wid, i))
				req := caddyhttp.PrepareRequest(base.Clone(base.Context()), caddy.NewReplacer(), w, new(caddyhttp.Server))
				req.Body, req.ContentLength = body, int64(len(body.data))
				next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
					lent := r.Body
					closeFirst := i%2 == 0
					transports.Go(func() {
						// the transport's own goroutine, racing the return
						if closeFirst {
							_ = lent.Close()
						}
						got, _ := io.ReadAll(lent)
						_ = lent.Close()
						// ownBody reads on after a close: what is read
						// says whose body the stand-in reached
						wantCloses := int32(1)
						if closeFirst {
							wantCloses = 2
						}
						if string(got) != string(body.data) || body.closes.Load() != wantCloses {
							select {
							case errs <- fmt.Errorf("%s: its transport read %q and closed it %d times; want %d", body.data, got, body.closes.Load(), wantCloses):
							default:
							}
						}
					})
					return passThroughNext.ServeHTTP(w, r)
				})
				w.reset()
				if err := h.ServeHTTP(w, req, next); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// failingBody returns its data, then err for every later read.
type failingBody struct {
	data []byte
	errs []error
}

func (b *failingBody) Read(p []byte) (int, error) {
	if len(b.data) > 0 {
		n := copy(p, b.data)
		b.data = b.data[n:]
		return n, nil
	}
	err := b.errs[0]
	if len(b.errs) > 1 {
		b.errs = b.errs[1:]
	}
	return 0, err
}

func (b *failingBody) Close() error { return nil }

// TestClientBodyFailure specifies what counts as the client's body
// failing: a read error, the first one kept; a body read to its end
// (io.EOF) is complete, not failed; a request without a body has none.
func TestClientBodyFailure(t *testing.T) {
	cut := io.ErrUnexpectedEOF
	reset := errors.New("connection reset by peer")
	for _, tc := range []struct {
		name string
		errs []error
		want error
	}{
		{name: "read to its end", errs: []error{io.EOF}, want: nil},
		{name: "cut short", errs: []error{cut}, want: cut},
		{name: "cut short, then reset: the first failure", errs: []error{cut, reset}, want: cut},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &clientBody{rc: &failingBody{data: []byte("part of a body"), errs: tc.errs}}
			var got []byte
			buf := make([]byte, 4)
			for range 10 {
				n, err := b.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil && !errors.Is(err, tc.errs[0]) && !errors.Is(err, tc.errs[len(tc.errs)-1]) {
					t.Fatalf("Read returned %v, not the body's own error", err)
				}
			}
			if string(got) != "part of a body" {
				t.Errorf("read %q through the stand-in", got)
			}
			if b.failed() != (tc.want != nil) || !errors.Is(b.failure(), tc.want) || (tc.want == nil && b.failure() != nil) {
				t.Errorf("failed() = %v, failure() = %v; want %v", b.failed(), b.failure(), tc.want)
			}
		})
	}
	// a read the proxy's own close broke is not the client's failure
	closing := &clientBody{rc: &failingBody{errs: []error{errors.New("http: invalid Read on closed Body")}}}
	_ = closing.Close()
	if _, err := closing.Read(make([]byte, 4)); err == nil || closing.failed() {
		t.Errorf("a read after the transport closed the body: %v, failed() = %v; want an error that is not the client's", err, closing.failed())
	}

	var none *clientBody // a request without a body
	if none.failed() || none.failure() != nil {
		t.Error("a request without a body has a failed one")
	}
}

// closedBody fails every read once closed, as net/http's request bodies do.
type closedBody struct{ closed atomic.Bool }

func (b *closedBody) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, http.ErrBodyReadAfterClose
	}
	return copy(p, "part"), nil
}

func (b *closedBody) Close() error { b.closed.Store(true); return nil }

// A transport that closes the body while another of its goroutines still
// reads it (an HTTP/2 stream the upstream reset) makes that read fail:
// the upstream's doing, never the client's body failing.
func TestClientBodyReadAfterClose(t *testing.T) {
	b := &clientBody{rc: &closedBody{}}
	if _, err := b.Read(make([]byte, 8)); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Read(make([]byte, 8)); !errors.Is(err, http.ErrBodyReadAfterClose) {
		t.Fatalf("a read after close returned %v, not the body's own error", err)
	}
	if b.failed() {
		t.Errorf("a read after the transport closed the body counts as the client's failure: %v", b.failure())
	}
}
