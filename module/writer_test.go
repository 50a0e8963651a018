package upstreamerrors

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func provisioned(t *testing.T) *Handler {
	t.Helper()
	h := &Handler{DiscardLimit: 8}
	r, _ := parseStatusRange(Group5xx)
	h.intercept = []statusRange{r}
	return h
}

// upstreamRepl returns a replacer as reverse_proxy leaves it right
// before it writes an upstream response with status.
func upstreamRepl(status int) *caddy.Replacer {
	repl := caddy.NewReplacer()
	repl.Set(upstreamStatusPlace, status)
	return repl
}

func TestWriterReadFrom(t *testing.T) {
	h := provisioned(t)

	// passed through: io.Copy into the writer reaches the client
	rec := httptest.NewRecorder()
	rw := newResponseWriter(h, rec, upstreamRepl(500))
	n, err := rw.ReadFrom(strings.NewReader("streamed body"))
	if err != nil || n != 13 || rec.Code != 200 || rec.Body.String() != "streamed body" {
		t.Errorf("pass-through ReadFrom: %d %v %d %q", n, err, rec.Code, rec.Body)
	}
	rw.release()

	// intercepted: nothing reaches the client, and reading stops at the limit
	rec = httptest.NewRecorder()
	rw = newResponseWriter(h, rec, upstreamRepl(500))
	rw.WriteHeader(500)
	if _, err := rw.ReadFrom(strings.NewReader("short")); err != nil {
		t.Errorf("small intercepted body: %v", err)
	}
	if _, err := rw.ReadFrom(strings.NewReader("much longer than eight bytes")); !errors.Is(err, errDiscardLimit) {
		t.Errorf("long intercepted body: %v, want errDiscardLimit", err)
	}
	if rec.Body.Len() != 0 || rec.Code != 200 || rw.status != 500 || !rw.intercepted {
		t.Errorf("intercepted body reached the client: %d %q", rec.Code, rec.Body)
	}
	rw.release()
}

func TestWriterInformationalAndFlush(t *testing.T) {
	h := provisioned(t)
	rec := httptest.NewRecorder()
	rw := newResponseWriter(h, rec, upstreamRepl(503))
	rw.WriteHeader(http.StatusEarlyHints)
	if rw.wroteHeader || rw.intercepted {
		t.Error("a 1xx response ended the header phase")
	}
	rw.WriteHeader(503)
	rw.Flush() // nothing on the wire to flush
	if rec.Flushed || !rw.intercepted {
		t.Errorf("flushed an intercepted response (flushed=%v)", rec.Flushed)
	}
	rw.release()

	rec = httptest.NewRecorder()
	rw = newResponseWriter(h, rec, upstreamRepl(500))
	rw.Flush()
	if !rec.Flushed || rec.Code != 200 || !rw.wroteHeader {
		t.Errorf("Flush before WriteHeader: flushed=%v code=%d", rec.Flushed, rec.Code)
	}
	rw.WriteHeader(500) // too late to intercept
	if rw.intercepted || rec.Code != 200 {
		t.Error("intercepted after the header was sent")
	}
	rw.release()
}

func TestWriterAnnouncedLengthAboveLimit(t *testing.T) {
	h := provisioned(t)
	rec := httptest.NewRecorder()
	rw := newResponseWriter(h, rec, upstreamRepl(500))
	rw.Header().Set("Content-Length", "1000")
	rw.WriteHeader(500)
	if _, err := rw.Write([]byte("x")); !errors.Is(err, errDiscardLimit) {
		t.Errorf("a body announced longer than the limit was read: %v", err)
	}
	rw.release()
}

func TestStatusClass(t *testing.T) {
	for status, want := range map[int]string{499: "4xx", 502: "5xx", 200: "2xx", 0: "unknown", 600: "unknown", 99: "unknown", 100: "1xx", 599: "5xx"} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			if got := statusClass(status); got != want {
				t.Errorf("statusClass(%d) = %s, want %s", status, got, want)
			}
		})
	}
}

// TestWriterReusesDiscardTimer checks that a writer used again intercepts
// without allocating a new timer, that the reused timer still ends the
// discard window, and that one which fired is not reused for the next
// channel.
func TestWriterReusesDiscardTimer(t *testing.T) {
	h := provisioned(t)
	rec, repl := httptest.NewRecorder(), upstreamRepl(500)
	rw := &responseWriter{abandon: make(chan struct{})}
	intercept := func() {
		rw.ResponseWriter, rw.h, rw.repl = rec, h, repl
		rw.WriteHeader(500)
		if !rw.intercepted {
			t.Fatal("the upstream 500 was not intercepted")
		}
	}
	// waitAbandoned waits for the discard window to end the drain
	waitAbandoned := func(what string) {
		t.Helper()
		select {
		case <-rw.abandon:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: the discard timer never closed the channel", what)
		}
	}

	intercept()
	rw.reset()
	if n := testing.AllocsPerRun(100, func() { intercept(); rw.reset() }); n != 0 {
		t.Errorf("intercepting with a reused writer allocated %v objects, want 0", n)
	}

	intercept()
	waitAbandoned("reused timer")
	rw.reset()
	select {
	case <-rw.abandon:
		t.Fatal("after the timer fired, the next use got a closed channel")
	default:
	}
	// a timer kept from the fired one would close the old channel again
	intercept()
	waitAbandoned("after a fired timer")
	rw.reset()
}

func TestAnnouncedLength(t *testing.T) {
	for _, c := range []struct {
		value string
		n     int64
		ok    bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{"1000", 1000, true},
		{"-1", -1, true}, // still below any limit
		{"12x", 0, false},
		{"99999999999999999999", 0, false},
	} {
		hdr := http.Header{}
		if c.value != "" {
			hdr.Set("Content-Length", c.value)
		}
		if n, ok := announcedLength(hdr); n != c.n || ok != c.ok {
			t.Errorf("Content-Length %q: %d %v, want %d %v", c.value, n, ok, c.n, c.ok)
		}
	}
}
