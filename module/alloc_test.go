package upstreamerrors

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime/debug"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// nopResponseWriter is a response writer that allocates nothing, so every
// allocation counted below is the handler's own.
type nopResponseWriter struct {
	hdr    http.Header
	status int
	n      int
}

func (w *nopResponseWriter) Header() http.Header { return w.hdr }

func (w *nopResponseWriter) WriteHeader(status int) { w.status = status }

func (w *nopResponseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.n += len(p)
	return len(p), nil
}

// reset readies w for the next request, with the one field Caddy's server
// sets before any handler runs. The map keeps its storage, as a fresh
// http.Server response's would be sized for it.
func (w *nopResponseWriter) reset() {
	clear(w.hdr)
	w.hdr["Server"] = serverValue
	w.status, w.n = 0, 0
}

var (
	serverValue = []string{"Caddy"}
	ctypeValue  = []string{"text/plain; charset=utf-8"}
	clenValue   = []string{"13"}
	passBody    = []byte("hello, world\n")
)

// passThroughNext stands in for reverse_proxy answering 200.
var passThroughNext = proxyStandIn(http.StatusOK, false)

// proxyStandIn stands in for reverse_proxy copying an upstream response
// of status: it sets the upstream's header fields and writes a small body,
// and with place set, first the status placeholder the proxy sets. The
// values are made beforehand so the stand-in itself allocates nothing.
func proxyStandIn(status int, place bool) caddyhttp.HandlerFunc {
	var placed any = status
	return func(w http.ResponseWriter, r *http.Request) error {
		if place {
			repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
			repl.Set(upstreamStatusPlace, placed)
		}
		hdr := w.Header()
		hdr["Content-Type"] = ctypeValue
		hdr["Content-Length"] = clenValue
		w.WriteHeader(status)
		_, err := w.Write(passBody)
		return err
	}
}

// passThroughSetup provisions a handler and a request whose context is set
// up the way Caddy's server does it, writing to an allocation-free writer.
func passThroughSetup(tb testing.TB) (*Handler, *nopResponseWriter, *http.Request) {
	return handlerSetup(tb, new(Handler))
}

// handlerSetup is passThroughSetup for the configured handler h.
func handlerSetup(tb testing.TB, h *Handler) (*Handler, *nopResponseWriter, *http.Request) {
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	tb.Cleanup(cancel)
	if err := h.Provision(ctx); err != nil {
		tb.Fatal(err)
	}
	// provisioned by hand, not loaded by Caddy, so cleaned up by hand
	tb.Cleanup(func() { _ = h.Cleanup() })
	if err := h.Validate(); err != nil {
		tb.Fatal(err)
	}
	w := &nopResponseWriter{hdr: make(http.Header)}
	req := caddyhttp.PrepareRequest(httptest.NewRequest(http.MethodGet, "/ok", nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
	return h, w, req
}

// TestPassThroughAllocations checks that a response that is not intercepted
// costs no allocations beyond the next handler's: the writer comes from a
// pool and nothing on the pass-through path touches the heap.
func TestPassThroughAllocations(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	h, w, req := passThroughSetup(t)
	bare, wrapped := allocsAround(t, h, w, req, passThroughNext, nil)

	if w.status != http.StatusOK || w.n != len(passBody) {
		t.Fatalf("got status %d and %d body bytes; want 200 and %d", w.status, w.n, len(passBody))
	}
	if got := w.hdr.Get("Content-Type"); got != ctypeValue[0] {
		t.Fatalf("Content-Type = %q; want %q", got, ctypeValue[0])
	}
	if extra := wrapped - bare; extra != 0 {
		t.Errorf("pass-through costs %v allocations per request beyond the next handler's (%v); want 0", extra, bare)
	}
}

// allocsAround returns the allocations per request of next alone and of
// h around next, each request on a reset writer after prepare.
func allocsAround(t *testing.T, h *Handler, w *nopResponseWriter, req *http.Request, next caddyhttp.Handler, prepare func()) (bare, wrapped float64) {
	t.Helper()
	run := func(serve func() error) float64 {
		return testing.AllocsPerRun(1000, func() {
			w.reset()
			if prepare != nil {
				prepare()
			}
			if err := serve(); err != nil {
				t.Fatal(err)
			}
		})
	}
	bare = run(func() error { return next.ServeHTTP(w, req) })
	wrapped = run(func() error { return h.ServeHTTP(w, req, next) })
	return bare, wrapped
}

// rewindBody is a request body that can be read again, allocation-free.
type rewindBody struct {
	data []byte
	off  int
}

func (b *rewindBody) Read(p []byte) (int, error) {
	if b.off >= len(b.data) {
		return 0, io.EOF
	}
	n := copy(p, b.data[b.off:])
	b.off += n
	return n, nil
}

func (b *rewindBody) Close() error { return nil }

// TestPassThroughAllocationsWithBody checks the same for a request with a
// body, which the module watches while the proxy sends it upstream: the
// stand-in reads and closes it, as a transport does. Watching it costs
// exactly one small allocation, the stand-in the transport may keep after
// the handler returned (see clientBody): a pooled one could reach a later
// request's body.
func TestPassThroughAllocationsWithBody(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	h, w, req := passThroughSetup(t)
	body := &rewindBody{data: []byte("name=value")}
	req.Method, req.Body, req.ContentLength = http.MethodPost, body, int64(len(body.data))
	var buf [64]byte
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		for {
			if _, err := r.Body.Read(buf[:]); err != nil {
				break
			}
		}
		r.Body.Close()
		return passThroughNext.ServeHTTP(w, r)
	})
	bare, wrapped := allocsAround(t, h, w, req, next, func() { body.off = 0 })
	if body.off != len(body.data) || req.Body != body {
		t.Fatalf("read %d of %d body bytes, body restored %v", body.off, len(body.data), req.Body == body)
	}
	if extra := wrapped - bare; extra != 1 {
		t.Errorf("pass-through with a body costs %v allocations beyond the next handler's (%v); want 1, its own body stand-in", extra, bare)
	}
}

// TestPassThroughAllocationsEmptyBody checks a request without content
// whose empty body Caddy's server wrapped (its idle-timeout reader): the
// proxy never hands it to a transport, which would close it, so watching
// it would cost the pooled writer on every GET.
func TestPassThroughAllocationsEmptyBody(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	h, w, req := passThroughSetup(t)
	req.Body, req.ContentLength = io.NopCloser(&rewindBody{}), 0
	bare, wrapped := allocsAround(t, h, w, req, passThroughNext, nil)
	if extra := wrapped - bare; extra != 0 {
		t.Errorf("pass-through of a request without content costs %v allocations beyond the next handler's (%v); want 0", extra, bare)
	}
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// BenchmarkHandlerOverhead isolates what the module adds to a request it
// lets through: the same stand-in for reverse_proxy, called directly
// (bare) and through the handler (module), with no network in between.
func BenchmarkHandlerOverhead(b *testing.B) {
	h, w, req := passThroughSetup(b)

	b.Run("route=bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			_ = passThroughNext.ServeHTTP(w, req)
		}
	})
	b.Run("route=module", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			w.reset()
			_ = h.ServeHTTP(w, req, passThroughNext)
		}
	})
}

// upstreamErrorNext stands in for reverse_proxy copying an upstream's
// 500 page.
var upstreamErrorNext = proxyStandIn(http.StatusInternalServerError, true)

// TestNormalizedResponseAllocations checks what replacing an upstream's
// 500 costs the module in allocations, beyond the stand-in's and a fresh
// request's: only what outlives the handler, the backing array of the
// header fields it sets and the Content-Length value (the response keeps
// both) and the placeholder provider (the replacer keeps it). The writer,
// its discard timer, the body buffer and the log entry's fields are
// reused; what is looked up or rendered from tables allocates nothing.
// The client sends its request ID, so Caddy's request UUID is not made.
func TestNormalizedResponseAllocations(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	h, w, _ := passThroughSetup(t)
	// entries are encoded and written as in Caddy, to nowhere
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	h.logger = zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.InfoLevel))
	const outliving = 3

	for _, tc := range []struct{ accept, contentType string }{
		{"", "application/problem+json"},
		{"text/html", "text/html; charset=utf-8"},
	} {
		t.Run("accept="+tc.accept, func(t *testing.T) {
			base := httptest.NewRequest(http.MethodGet, "/page", nil)
			base.Header.Set("X-Request-ID", "alloc-test")
			if tc.accept != "" {
				base.Header.Set("Accept", tc.accept)
			}
			newRequest := func() *http.Request {
				return caddyhttp.PrepareRequest(base, caddy.NewReplacer(), w, new(caddyhttp.Server))
			}
			bare := testing.AllocsPerRun(1000, func() {
				w.reset()
				if err := upstreamErrorNext.ServeHTTP(w, newRequest()); err != nil {
					t.Fatal(err)
				}
			})
			wrapped := testing.AllocsPerRun(1000, func() {
				w.reset()
				if err := h.ServeHTTP(w, newRequest(), upstreamErrorNext); err != nil {
					t.Fatal(err)
				}
			})

			if w.status != http.StatusBadGateway || w.hdr.Get("Content-Type") != tc.contentType || w.n == 0 {
				t.Fatalf("got status %d, Content-Type %q, %d body bytes; want a 502 of %s", w.status, w.hdr.Get("Content-Type"), w.n, tc.contentType)
			}
			if extra := wrapped - bare; extra > outliving {
				t.Errorf("a normalized response costs %v allocations beyond the stand-in's (%v); want at most %d", extra, bare, outliving)
			}
		})
	}
}
