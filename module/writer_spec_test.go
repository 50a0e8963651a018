package upstreamerrors

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// TestDiscardLimitIsInclusive specifies discard_limit as the most bytes
// of an intercepted body that are read: a body of exactly the limit is
// drained, whether written in pieces or announced by Content-Length, and
// one byte more is not.
func TestDiscardLimitIsInclusive(t *testing.T) {
	h := provisioned(t) // DiscardLimit 8
	limit := int(h.DiscardLimit)
	for _, tc := range []struct {
		name      string
		announced bool
		size      int
		wantErr   error
	}{
		{name: "exactly the limit, written", size: limit},
		{name: "one over, written", size: limit + 1, wantErr: errDiscardLimit},
		{name: "exactly the limit, announced", announced: true, size: limit},
		{name: "one over, announced", announced: true, size: limit + 1, wantErr: errDiscardLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rw := newResponseWriter(h, httptest.NewRecorder(), upstreamRepl(500))
			defer rw.release()
			if tc.announced {
				rw.Header().Set("Content-Length", strconv.Itoa(tc.size))
			}
			rw.WriteHeader(500)
			var err error
			for i := 0; i < tc.size && err == nil; i++ {
				_, err = rw.Write([]byte{'x'})
			}
			if !errors.Is(err, tc.wantErr) {
				t.Errorf("draining %d bytes: %v, want %v", tc.size, err, tc.wantErr)
			}
			if tc.wantErr == nil && rw.discarded != int64(tc.size) {
				t.Errorf("discarded %d bytes, want %d", rw.discarded, tc.size)
			}
		})
	}
}

// TestDrainDeadline specifies the discard window: a body still coming
// when it ends is given up, and the failure is named for the window; a
// body that breaks before it is named as a failed body.
func TestDrainDeadline(t *testing.T) {
	h := provisioned(t)
	rw := newResponseWriter(h, httptest.NewRecorder(), upstreamRepl(500))
	defer rw.release()
	rw.WriteHeader(500)
	if _, err := rw.Write([]byte("x")); err != nil {
		t.Fatalf("within the window: %v", err)
	}
	if err := rw.drainError(); !errors.Is(err, errBodyFailed) {
		t.Errorf("a body that broke within the window: %v, want errBodyFailed", err)
	}
	rw.discardBy = time.Now().Add(-time.Millisecond) // the window has ended
	if _, err := rw.Write([]byte("x")); !errors.Is(err, errDiscardTime) {
		t.Errorf("after the window: %v, want errDiscardTime", err)
	}
	rw.drainErr = nil
	if err := rw.drainError(); !errors.Is(err, errDiscardTime) {
		t.Errorf("a body abandoned by the timer: %v, want errDiscardTime", err)
	}
	if _, err := rw.ReadFrom(bytes.NewReader([]byte("more"))); !errors.Is(err, errDiscardTime) {
		t.Errorf("ReadFrom after the window: %v, want errDiscardTime", err)
	}
}

// TestSwitchingProtocolsIsFinal specifies that 101 ends the head like
// any final status (the connection then belongs to the new protocol),
// while other 1xx pass as interim responses and leave the final head to
// come, intercepted or not.
func TestSwitchingProtocolsIsFinal(t *testing.T) {
	h := provisioned(t)
	rec := httptest.NewRecorder()
	rw := newResponseWriter(h, rec, upstreamRepl(101))
	rw.WriteHeader(http.StatusSwitchingProtocols)
	if !rw.wroteHeader || rw.status != http.StatusSwitchingProtocols || rec.Code != http.StatusSwitchingProtocols {
		t.Errorf("101: wroteHeader=%v status=%d on the wire %d; want a final 101", rw.wroteHeader, rw.status, rec.Code)
	}
	rw.WriteHeader(500) // nothing may follow a final head
	if rw.intercepted || rec.Code != http.StatusSwitchingProtocols {
		t.Errorf("a head after 101 was taken: intercepted=%v code=%d", rw.intercepted, rec.Code)
	}
	rw.release()

	rec = httptest.NewRecorder()
	rw = newResponseWriter(h, rec, upstreamRepl(500))
	defer rw.release()
	rw.WriteHeader(http.StatusContinue)
	if rw.wroteHeader || rw.status != 0 {
		t.Errorf("100 ended the head: wroteHeader=%v status=%d", rw.wroteHeader, rw.status)
	}
	rw.WriteHeader(500)
	if !rw.intercepted {
		t.Error("the final 500 after a 100 was not intercepted")
	}
}

// brokenBody fails like a client that cut its upload short.
type brokenBody struct{}

func (brokenBody) Read([]byte) (int, error) { return 0, io.ErrUnexpectedEOF }
func (brokenBody) Close() error             { return nil }

// TestProxy499HeldForBrokenBody specifies the held branch: when the proxy
// gives up with 499 because the client's request body broke, the 499 is
// not written (the handler answers 400 instead); a 499 without a broken
// body, a client that left, is written as the proxy wrote it.
func TestProxy499HeldForBrokenBody(t *testing.T) {
	h := provisioned(t)
	for _, broken := range []bool{true, false} {
		rec := httptest.NewRecorder()
		rw := newResponseWriter(h, rec, nil)
		rw.body = &clientBody{rc: brokenBody{}}
		if broken {
			_, _ = io.ReadAll(rw.body)
		}
		rw.WriteHeader(statusClientClosed)
		if rw.held != broken || rw.wroteHeader == broken || (rec.Code == statusClientClosed) == broken {
			t.Errorf("broken body %v: held=%v wroteHeader=%v on the wire %d", broken, rw.held, rw.wroteHeader, rec.Code)
		}
		rw.release()
	}
}

// TestUpstreamStatusRange specifies which upstream statuses HTTP cannot
// carry (outside 100-599): those are always replaced as a protocol
// error; 599 is an ordinary 5xx, and a status from 100 up is not
// invalid, only intercepted when listed.
func TestUpstreamStatusRange(t *testing.T) {
	for _, tc := range []struct {
		up, written      int
		intercepted, bad bool
	}{
		{up: 99, written: 502, intercepted: true, bad: true},
		{up: 100, written: 200, intercepted: false},
		{up: 599, written: 599, intercepted: true, bad: false},
		{up: 600, written: 502, intercepted: true, bad: true},
	} {
		t.Run(strconv.Itoa(tc.up), func(t *testing.T) {
			rw := newResponseWriter(provisioned(t), httptest.NewRecorder(), upstreamRepl(tc.up))
			defer rw.release()
			rw.Header()["Via"] = []string{"1.1 Caddy"} // the proxy's copy
			rw.WriteHeader(tc.written)
			if rw.intercepted != tc.intercepted || rw.invalid != tc.bad {
				t.Errorf("upstream %d written as %d: intercepted=%v invalid=%v, want %v %v", tc.up, tc.written, rw.intercepted, rw.invalid, tc.intercepted, tc.bad)
			}
		})
	}
}

// TestInterceptedReadFromDrainsToTheEnd specifies io.Copy into an
// intercepted response: the body is read to its end in as many reads as
// it takes, within the limit, and a read error is returned as it is.
func TestInterceptedReadFromDrainsToTheEnd(t *testing.T) {
	h := &Handler{DiscardLimit: 4096}
	r, _ := parseStatusRange(Group5xx)
	h.intercept = []statusRange{r}
	body := bytes.Repeat([]byte("x"), 1500) // several reads of the drain buffer
	rw := newResponseWriter(h, httptest.NewRecorder(), upstreamRepl(500))
	defer rw.release()
	rw.WriteHeader(500)
	n, err := rw.ReadFrom(bytes.NewReader(body))
	if err != nil || n != int64(len(body)) || rw.discarded != int64(len(body)) {
		t.Errorf("drained %d (%d discarded) with %v, want all %d bytes", n, rw.discarded, err, len(body))
	}
	cut := io.MultiReader(bytes.NewReader(body), &failingBody{errs: []error{io.ErrUnexpectedEOF}})
	if _, err := rw.ReadFrom(cut); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a body that broke: %v, want its error", err)
	}
}
