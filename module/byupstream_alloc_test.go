package upstreamerrors

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// failingUpstream names the upstream the stand-in below reports; it is
// never dialed.
var failingUpstream any = "127.0.0.1:9"

// namedUpstreamErrorNext is upstreamErrorNext that also sets the upstream
// placeholder, as reverse_proxy does before it dials.
var namedUpstreamErrorNext = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer).Set(upstreamPlace, failingUpstream)
	return upstreamErrorNext.ServeHTTP(w, r)
})

// failureSetup returns a handler, with per_upstream if set, that logs to
// nowhere as Caddy would encode it, and a fresh request maker.
func failureSetup(tb testing.TB, perUpstream bool) (*Handler, *nopResponseWriter, func() *http.Request) {
	h := new(Handler)
	if perUpstream {
		h.Metrics = &Metrics{PerUpstream: true}
	}
	h, w, _ := handlerSetup(tb, h)
	enc := zapcore.NewJSONEncoder(zap.NewProductionEncoderConfig())
	h.logger = zap.New(zapcore.NewCore(enc, zapcore.AddSync(io.Discard), zap.InfoLevel))
	base := httptest.NewRequest(http.MethodGet, "/page?token=x", nil)
	base.Header.Set("X-Request-ID", "cost-test")
	return h, w, func() *http.Request {
		return caddyhttp.PrepareRequest(base, caddy.NewReplacer(), w, new(caddyhttp.Server))
	}
}

// Counting a failure by upstream costs no allocation: the series and the
// upstream's name are looked up, not built, once the upstream was seen.
// The ring write, made with or without per_upstream, allocates nothing
// either (TestConcurrent in internal/recent).
func TestPerUpstreamFailureAllocations(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	var allocs [2]float64
	for i, on := range []bool{false, true} {
		h, w, newRequest := failureSetup(t, on)
		allocs[i] = testing.AllocsPerRun(1000, func() {
			w.reset()
			if err := h.ServeHTTP(w, newRequest(), namedUpstreamErrorNext); err != nil {
				t.Fatal(err)
			}
		})
		if w.status != http.StatusBadGateway {
			t.Fatalf("per_upstream %v: status %d, want 502", on, w.status)
		}
	}
	if allocs[1] != allocs[0] {
		t.Errorf("a failure costs %v allocations with per_upstream, %v without; want the same", allocs[1], allocs[0])
	}
}

// BenchmarkFailureCost measures a replaced upstream 500 with per_upstream
// off and on, and apart, what per_upstream adds (one counter lookup and
// increment) and the ring write every failure makes.
//
//	go test -run '^$' -bench FailureCost -benchtime 2000x ./module/
func BenchmarkFailureCost(b *testing.B) {
	for _, on := range []bool{false, true} {
		name := "per_upstream=off"
		if on {
			name = "per_upstream=on"
		}
		b.Run(name, func(b *testing.B) {
			h, w, newRequest := failureSetup(b, on)
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				_ = h.ServeHTTP(w, newRequest(), namedUpstreamErrorNext)
			}
		})
	}
	b.Run("by_upstream_count", func(b *testing.B) {
		if err := registerMetrics(nil); err != nil {
			b.Fatal(err)
		}
		f := &failure{cause: causeHTTPResponseStatus, status: 502, upstreamStatus: 500}
		b.ReportAllocs()
		for b.Loop() {
			countByUpstream("srv0", "127.0.0.1:9", DefaultMaxUpstreams, f)
		}
	})
	b.Run("ring_write", func(b *testing.B) {
		h := &Handler{}
		h.registerRecent()
		b.Cleanup(h.unregisterRecent)
		r := httptest.NewRequest(http.MethodGet, "/page", nil)
		f := &failure{cause: causeHTTPResponseStatus, status: 502, upstreamStatus: 500, requestID: "cost-test"}
		b.ReportAllocs()
		for b.Loop() {
			recordRecent(r, f, "srv0", "127.0.0.1:9")
		}
	})
}
