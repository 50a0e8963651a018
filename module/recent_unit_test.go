package upstreamerrors

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// withRing gives a test the ring to itself, sized by handlers of the
// given sizes, and restores it after.
func withRing(t *testing.T, sizes ...int) []*Handler {
	t.Helper()
	recentRing.Lock()
	saved, savedNext, savedSizes := recentRing.slots, recentRing.next, recentRing.sizes
	recentRing.slots, recentRing.next, recentRing.sizes = nil, 0, make(map[*Handler]int)
	recentRing.Unlock()
	t.Cleanup(func() {
		recentRing.Lock()
		recentRing.slots, recentRing.next, recentRing.sizes = saved, savedNext, savedSizes
		recentRing.Unlock()
	})
	hs := make([]*Handler, 0, len(sizes))
	for _, n := range sizes {
		h := &Handler{Recent: n}
		h.registerRecent()
		hs = append(hs, h)
	}
	return hs
}

func writeRecent(path string, i int) {
	r := httptest.NewRequest("GET", path, nil)
	recordRecent(r, &failure{cause: CauseConnectionRefused, status: 502, requestID: fmt.Sprint(i)}, "srv", "127.0.0.1:1")
}

func recentIDs(limit int) string {
	fs := RecentFailures(limit, "")
	ids := make([]string, 0, len(fs))
	for _, f := range fs {
		ids = append(ids, f.RequestID)
	}
	return strings.Join(ids, " ")
}

// The ring holds the largest size a loaded handler sets, keeps the newest
// entries when it shrinks or grows, and goes back to the remaining
// handlers' size once one is cleaned up.
func TestRecentResize(t *testing.T) {
	hs := withRing(t, 3)
	for i := range 5 {
		writeRecent("/", i)
	}
	if got := recentIDs(0); got != "4 3 2" {
		t.Fatalf("size 3 kept %q", got)
	}
	// a reload: the new config provisions before the old one cleans up
	big := &Handler{Recent: 5}
	big.registerRecent()
	if got := recentIDs(0); got != "4 3 2" {
		t.Fatalf("after growing, %q", got)
	}
	writeRecent("/", 5)
	writeRecent("/", 6)
	if got := recentIDs(0); got != "6 5 4 3 2" {
		t.Fatalf("size 5 kept %q", got)
	}
	small := &Handler{Recent: 2}
	small.registerRecent()
	big.unregisterRecent()
	hs[0].unregisterRecent()
	if got := recentIDs(0); got != "6 5" {
		t.Fatalf("after shrinking to 2, %q", got)
	}
	if got := recentIDs(1); got != "6" {
		t.Fatalf("limit 1: %q", got)
	}
	// the last handler gone (Caddy stopping), what was kept stays readable
	small.unregisterRecent()
	if got := recentIDs(0); got != "6 5" {
		t.Fatalf("with no handler loaded, %q", got)
	}
}

// A long value is cut to its field's size, at a character boundary and
// marked; control and bidi characters never reach the reader.
func TestRecentFieldsBounded(t *testing.T) {
	withRing(t, 1)
	long := "/" + strings.Repeat("é", recentCaps[rfPath]) // two bytes each
	r := httptest.NewRequest("GET", "/", nil)
	r.URL.RawPath, r.URL.Path = "", long
	recordRecent(r, &failure{cause: CauseConnectionRefused, status: 502, errText: "line\nbreak \u202eevil " + strings.Repeat("x", 1000)}, "srv", "")
	f := RecentFailures(0, "")[0]
	if len(f.Path) > recentCaps[rfPath]+len("…") || !strings.HasSuffix(f.Path, "…") || strings.ContainsRune(f.Path, '\uFFFD') {
		t.Errorf("path %d bytes, ends %q", len(f.Path), f.Path[len(f.Path)-8:])
	}
	if !strings.HasPrefix(f.Error, "linebreak evil xxx") || !strings.HasSuffix(f.Error, "…") || len(f.Error) > recentCaps[rfError]+len("…") {
		t.Errorf("error %q", f.Error)
	}
}

// Writers and readers share the ring safely (run with -race), and a write
// allocates nothing.
func TestRecentConcurrent(t *testing.T) {
	withRing(t, 8)
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range 200 {
				writeRecent("/p", w*1000+i)
				if i%10 == 0 {
					_ = RecentFailures(0, "")
				}
			}
		})
	}
	wg.Wait()
	if n := len(RecentFailures(0, "")); n != 8 {
		t.Errorf("%d kept, want 8", n)
	}
	r := httptest.NewRequest("GET", "/p", nil)
	f := &failure{cause: CauseConnectionRefused, status: 502, errText: "dial tcp: connection refused", requestID: "id"}
	if n := testing.AllocsPerRun(100, func() { recordRecent(r, f, "srv", "127.0.0.1:1") }); n != 0 {
		t.Errorf("a write allocates %v times", n)
	}
}

// A size out of range never reaches the ring: Provision runs before
// Validate refuses it, and must not panic or allocate for it.
func TestRecentSizeOutOfRange(t *testing.T) {
	withRing(t)
	for _, n := range []int{-1, RecentMax + 1} {
		h := &Handler{Recent: n}
		h.registerRecent()
		recentRing.Lock()
		size := len(recentRing.slots)
		recentRing.Unlock()
		if size != DefaultRecent {
			t.Errorf("recent %d: ring of %d", n, size)
		}
		if err := h.Validate(); err == nil {
			t.Errorf("recent %d validates", n)
		}
		h.unregisterRecent()
	}
}
