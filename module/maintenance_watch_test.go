package upstreamerrors

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

// documentedCheckEvery is the period the docs promise: a toggle of the
// flag file takes effect within about a second.
const documentedCheckEvery = time.Second

// withCheckEvery sets the watch period for one test.
func withCheckEvery(t *testing.T, d time.Duration) {
	prev := maintenanceCheckEvery
	maintenanceCheckEvery = d
	t.Cleanup(func() { maintenanceCheckEvery = prev })
}

// TestMaintenanceToggleWithinASecond measures the promise: with the
// documented period, a flag file created after provisioning puts the
// handler in maintenance within about a second, and its removal takes it
// out as fast, by the watcher alone.
func TestMaintenanceToggleWithinASecond(t *testing.T) {
	withCheckEvery(t, documentedCheckEvery)
	flag := filepath.Join(t.TempDir(), "maintenance")
	w, err := newMaintenanceWatch(&Maintenance{File: flag}, nil, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	// "about a second": one period, plus scheduling on a busy machine
	promise := documentedCheckEvery + documentedCheckEvery/2
	seen := func(want bool) time.Duration {
		t.Helper()
		start := time.Now()
		for (w.window.Load() != nil) != want {
			if time.Since(start) > 10*documentedCheckEvery {
				t.Fatalf("the watcher did not see the file %v within %v", map[bool]string{true: "appear", false: "go"}[want], 10*documentedCheckEvery)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}
	if w.window.Load() != nil {
		t.Fatal("in maintenance before the file exists")
	}
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if took := seen(true); took > promise {
		t.Errorf("maintenance began %v after the file appeared, want within about a second (%v)", took, promise)
	}
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	if took := seen(false); took > promise {
		t.Errorf("maintenance ended %v after the file went, want within about a second (%v)", took, promise)
	}
}

// TestMaintenanceWatchUsesItsPeriod checks the watcher checks at the
// configured period and not at some fixed one: with a period of an hour
// nothing is seen, with a short one the file is found.
func TestMaintenanceWatchUsesItsPeriod(t *testing.T) {
	for _, tc := range []struct {
		period time.Duration
		wait   time.Duration
		want   bool
	}{
		{period: time.Hour, wait: 300 * time.Millisecond, want: false},
		{period: 5 * time.Millisecond, wait: 10 * time.Second, want: true},
	} {
		withCheckEvery(t, tc.period)
		flag := filepath.Join(t.TempDir(), "maintenance")
		w, err := newMaintenanceWatch(&Maintenance{File: flag}, nil, nil, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(flag, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(tc.wait)
		for w.window.Load() == nil && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		w.close()
		if got := w.window.Load() != nil; got != tc.want {
			t.Errorf("period %v: file seen within %v = %v, want %v", tc.period, tc.wait, got, tc.want)
		}
	}
}

// TestMaintenanceUncheckableFile specifies a flag file whose existence
// cannot be told (a path through a regular file, as a mistyped or
// unreadable directory gives): requests are served, not held in
// maintenance, and the problem is logged once, not on every check.
func TestMaintenanceUncheckableFile(t *testing.T) {
	dir := t.TempDir()
	notDir := filepath.Join(dir, "file")
	if err := os.WriteFile(notDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.WarnLevel)
	w := &maintenanceWatch{file: filepath.Join(notDir, "maintenance"), logger: zap.New(core)}
	w.window.Store(&maintenanceWindow{}) // was in maintenance before
	for range 3 {
		w.check()
	}
	if w.window.Load() != nil {
		t.Error("in maintenance while the file cannot be checked; requests must be served")
	}
	if n := logs.Len(); n != 1 || !strings.Contains(logs.All()[0].Message, "cannot be checked") {
		t.Errorf("%d warnings after three checks, want one saying the file cannot be checked: %v", n, logs.All())
	}
}

// TestMaintenanceCloseWaitsForWatcher specifies close: when it returns,
// the watching goroutine has left its loop, so a reload or a stop leaves
// none behind checking an old config's file. (A close that did not wait
// would mostly pass too: the goroutine leaves its loop at once.)
func TestMaintenanceCloseWaitsForWatcher(t *testing.T) {
	withCheckEvery(t, time.Millisecond)
	for range 20 {
		w, err := newMaintenanceWatch(&Maintenance{File: filepath.Join(t.TempDir(), "maintenance")}, nil, nil, zap.NewNop())
		if err != nil {
			t.Fatal(err)
		}
		// other tests' handlers may run watchers of their own: this one's
		// is told by its receiver, found running before close
		deadline := time.Now().Add(5 * time.Second)
		for !watcherRunning(w) {
			if time.Now().After(deadline) {
				t.Fatal("the watcher goroutine was never seen running")
			}
			time.Sleep(time.Millisecond)
		}
		w.close()
		// having returned from its loop, the goroutine may still be
		// seen on its way out, never waiting in it
		if watcherWaiting(w) {
			t.Fatal("the watcher goroutine still waits for its next check after close returned")
		}
		w.close() // closing again is harmless
	}
}

// watcherRunning reports whether w's watcher goroutine runs.
func watcherRunning(w *maintenanceWatch) bool { return watcherStack(w) != "" }

// watcherWaiting reports whether w's watcher goroutine waits in its loop.
func watcherWaiting(w *maintenanceWatch) bool {
	return strings.Contains(watcherStack(w), "[select")
}

// watcherStack returns the stack of w's watcher goroutine, if it runs.
func watcherStack(w *maintenanceWatch) string {
	for g := range strings.SplitSeq(allStacks(), "\n\n") {
		if strings.Contains(g, fmt.Sprintf("(*maintenanceWatch).run(%p", w)) {
			return g
		}
	}
	return ""
}

// allStacks returns the stacks of every goroutine: one cut short would
// miss a goroutine when other tests leave many behind.
func allStacks() string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return string(buf[:n])
		}
		buf = make([]byte, 2*len(buf))
	}
}
