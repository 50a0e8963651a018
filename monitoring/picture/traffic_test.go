package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// The phases follow one another over the whole run, each for its share.
func TestPlan(t *testing.T) {
	total := 4 * time.Minute
	w := plan(story.Phases, total)
	if w[0].Start != 0 || w[len(w)-1].End != total {
		t.Errorf("plan %v does not span the run", w)
	}
	for i, p := range story.Phases {
		if i > 0 && w[i].Start != w[i-1].End {
			t.Errorf("phase %d starts at %s, the one before ends at %s", i, w[i].Start, w[i-1].End)
		}
		if p.Maintenance && w[i].End-w[i].Start != 30*time.Second {
			t.Errorf("the maintenance window lasts %s of a 4m run, want 30s", w[i].End-w[i].Start)
		}
	}
}

// A request counts in the phase it was sent in, boundaries included.
func TestTallyPhases(t *testing.T) {
	start := time.Now()
	ps := []phase{{Name: "a", Weight: 1}, {Name: "b", Weight: 1}, {Name: "c", Weight: 2}}
	tl := &tally{start: start, phases: ps, plan: plan(ps, 4*time.Second), counts: make([]map[string]map[string]int, 3)}
	for i := range tl.counts {
		tl.counts[i] = map[string]map[string]int{}
	}
	for _, c := range []struct {
		at    time.Duration
		phase int
	}{{0, 0}, {time.Second - 1, 0}, {time.Second, 1}, {2 * time.Second, 2}, {4 * time.Second, 2}, {5 * time.Second, 2}} {
		tl.add(start.Add(c.at), "/p", c.at.String())
		if tl.counts[c.phase]["/p"][c.at.String()] != 1 {
			t.Errorf("a request sent at %s is not counted in phase %s: %v", c.at, ps[c.phase].Name, tl.counts)
		}
	}
}

// A request's outcome is its status, or "left" when the client gave up.
func TestRequestOutcome(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/down":
			w.WriteHeader(http.StatusBadGateway)
		}
	}))
	defer srv.Close()
	for path, want := range map[string]string{"/": "200", "/down": "502", "/slow": "left"} {
		if got := request(context.Background(), srv.Client(), srv.URL+path, 100*time.Millisecond); got != want {
			t.Errorf("%s: %q, want %q", path, got, want)
		}
	}
}

// A run sends each stream during its phase only, and the maintenance
// flag file exists during its window and is gone after it.
func TestDrive(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "maintenance")
	var mu sync.Mutex
	flagged := map[string]int{}
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(flag); err == nil {
			mu.Lock()
			flagged[r.URL.Path]++
			mu.Unlock()
		}
	}))
	defer srv.Close()
	sch := schedule{
		Background: stream{Path: "/bg", PerSecond: 50},
		Phases: []phase{
			{Name: "quiet", Weight: 1},
			{Name: "window", Weight: 1, Maintenance: true},
			{Name: "burst", Weight: 1, Streams: []stream{{Path: "/burst", PerSecond: 100}}},
		},
	}
	_, tl, err := drive(context.Background(), srv.URL, flag, 1500*time.Millisecond, sch)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(flag); !os.IsNotExist(err) {
		t.Errorf("the flag file is left: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	// counts depend on how the goroutines are scheduled: only presence and
	// absence are certain
	if flagged["/bg"] < 1 || flagged["/burst"] > 1 {
		t.Errorf("requests seen while the flag file existed: %v", flagged)
	}
	if n := tl.counts[2]["/burst"]["200"]; n < 1 {
		t.Errorf("%d burst requests in the burst phase", n)
	}
	if n := tl.counts[0]["/burst"]["200"] + tl.counts[1]["/burst"]["200"]; n > 0 {
		t.Errorf("%d burst requests before the burst phase", n)
	}
	for i := range sch.Phases {
		if n := tl.counts[i]["/bg"]["200"]; n < 1 {
			t.Errorf("phase %s: %d background requests", sch.Phases[i].Name, n)
		}
	}
}
