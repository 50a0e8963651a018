package upstreamerrors

import (
	"encoding/json"
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
)

// windowSetup is passThroughSetup with a named window (off), bypass
// matchers and a hold configured, watched as Provision watches it.
func windowSetup(tb testing.TB) (*Handler, *nopResponseWriter, *http.Request) {
	h, w, req := passThroughSetup(tb)
	m := &Maintenance{Window: "shop", Hold: caddy.Duration(10 * time.Second)}
	bypass := caddyhttp.MatcherSets{caddyhttp.MatcherSet{caddyhttp.MatchPath{"/healthz"}}}
	watch, err := newMaintenanceWatch(m, bypass, &certmagic.FileStorage{Path: tb.TempDir()}, zap.NewNop())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(watch.close)
	h.maintenance = watch
	return h, w, req
}

// A named window that is off costs a request nothing: no storage read, no
// allocation.
func TestWindowOffAllocations(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	h, w, req := windowSetup(t)
	bare, wrapped := allocsAround(t, h, w, req, passThroughNext, nil)
	if w.status != http.StatusOK {
		t.Fatalf("status %d, want 200", w.status)
	}
	if extra := wrapped - bare; extra != 0 {
		t.Errorf("pass-through with a named window off costs %v allocations per request beyond the next handler's (%v); want 0", extra, bare)
	}
}

// BenchmarkWindowOff is BenchmarkHandlerOverhead's module route with a
// named window configured and off.
func BenchmarkWindowOff(b *testing.B) {
	h, w, req := windowSetup(b)
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
