package upstreamerrors

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/window"
)

// windowHandlerJSON is a handler with a named window (off), bypass
// matchers and a hold configured.
const windowHandlerJSON = `{"maintenance": {"window": "shop", "hold": "10s", "bypass": [{"path": ["/healthz"]}]}}`

// windowSetup is passThroughSetup for a handler loaded from
// windowHandlerJSON as Caddy loads one: decoded, provisioned (with the
// storage of a running config, a file_system storage returned here) and
// validated.
func windowSetup(tb testing.TB) (*Handler, *nopResponseWriter, *http.Request, *certmagic.FileStorage) {
	store := &certmagic.FileStorage{Path: tb.TempDir()}
	cfg := fmt.Sprintf(`{"admin": {"disabled": true}, "storage": {"module": "file_system", "root": %q},
		"logging": {"logs": {"default": {"writer": {"output": "discard"}}}}}`, store.Path)
	if err := caddy.Load([]byte(cfg), true); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = caddy.Stop() })
	ctx, cancel := caddy.NewContext(caddy.ActiveContext())
	// cancel cleans up the modules ctx loaded, the handler among them
	tb.Cleanup(cancel)
	mod, err := ctx.LoadModuleByID("http.handlers.upstream_errors", json.RawMessage(windowHandlerJSON))
	if err != nil {
		tb.Fatal(err)
	}
	h := mod.(*Handler)
	w := &nopResponseWriter{hdr: make(http.Header)}
	req := caddyhttp.PrepareRequest(httptest.NewRequest(http.MethodGet, "/ok", nil), caddy.NewReplacer(), w, new(caddyhttp.Server))
	return h, w, req, store
}

// A named window that is off costs a request nothing: no storage read, no
// allocation. The handler is provisioned from its JSON config, and then
// shown to follow the window it was provisioned with.
func TestWindowOffAllocations(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	h, w, req, store := windowSetup(t)
	bare, wrapped := allocsAround(t, h, w, req, passThroughNext, nil)
	if w.status != http.StatusOK {
		t.Fatalf("status %d, want 200", w.status)
	}
	if extra := wrapped - bare; extra != 0 {
		t.Errorf("pass-through with a named window off costs %v allocations per request beyond the next handler's (%v); want 0", extra, bare)
	}

	// the window measured is the one configured: on, it answers 503
	if err := window.Store(context.Background(), store, "shop", window.State{On: true}); err != nil {
		t.Fatal(err)
	}
	// (the request would be held: what ServeHTTP asks is enough)
	for deadline := time.Now().Add(10 * time.Second); h.maintenance.covering(req) == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the provisioned handler never followed its window on")
		}
	}
}

// BenchmarkWindowOff is BenchmarkHandlerOverhead's module route with a
// named window configured and off.
func BenchmarkWindowOff(b *testing.B) {
	h, w, req, _ := windowSetup(b)
	b.ReportAllocs()
	for b.Loop() {
		w.reset()
		_ = h.ServeHTTP(w, req, passThroughNext)
	}
}

// BenchmarkHeldRequest measures the heap a held request costs beyond the
// goroutine serving it: n requests are held at once, and the heap they
// take is compared with n goroutines parked on a channel. Reported as
// held-B/req.
func BenchmarkHeldRequest(b *testing.B) {
	const n = 1000
	h, _, _ := passThroughSetup(b)
	// a window switched by hand here, not followed from a file or storage
	watch, err := newMaintenanceWatch(&Maintenance{Hold: caddy.Duration(time.Minute), HoldMax: n}, nil, nil, zap.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(watch.close)
	h.maintenance = watch
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return nil })
	reqs := make([]*http.Request, n)
	writers := make([]*nopResponseWriter, n)
	for i := range reqs {
		writers[i] = &nopResponseWriter{hdr: make(http.Header)}
		reqs[i] = caddyhttp.PrepareRequest(httptest.NewRequest(http.MethodGet, "/", nil), caddy.NewReplacer(), writers[i], new(caddyhttp.Server))
	}
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	// n goroutines that only wait: run once so the runtime has n spare
	// goroutines to reuse, then measured as the baseline
	var wg sync.WaitGroup
	parkedHeap := func() uint64 {
		gate := make(chan struct{})
		base := heap()
		for range n {
			wg.Go(func() { <-gate })
		}
		parked := heap() - base
		close(gate)
		wg.Wait()
		return parked
	}
	parkedHeap()
	var perReq float64
	for b.Loop() {
		parked := parkedHeap()

		watch.window.Store(&maintenanceWindow{})
		base := heap()
		for i := range n {
			wg.Go(func() { _ = h.ServeHTTP(writers[i], reqs[i], next) })
		}
		for heldRequests.Load() != n {
			runtime.Gosched()
		}
		held := heap() - base
		watch.window.Store(nil)
		wg.Wait()
		perReq = (float64(held) - float64(parked)) / n
	}
	b.ReportMetric(perReq, "held-B/req")
	if testing.Verbose() {
		out, _ := json.Marshal(map[string]float64{"held_bytes_per_request": perReq})
		b.Log(string(out))
	}
}
