//go:build unix

package upstreamerrors

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
)

// TestMaintenanceCloseWaitsForACheckInProgress specifies that close, which
// Cleanup calls when a config is unloaded, returns only once the watcher
// goroutine is done with the flag file: a check still running after it
// would read a file the next config may already own, and publish a window
// nobody reads. The flag file is made a FIFO, so the watcher's read of it
// blocks until the test opens its other end: close must still be waiting
// when the test looks, and return once the check can finish.
func TestMaintenanceCloseWaitsForACheckInProgress(t *testing.T) {
	withCheckEvery(t, time.Millisecond)
	file := filepath.Join(t.TempDir(), "maintenance")
	w, err := newMaintenanceWatch(&Maintenance{File: file}, nil, nil, zap.NewNop())
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(file, 0o600); err != nil {
		t.Skipf("no FIFO here: %v", err)
	}
	// the watcher's next check opens the file, and waits there for a writer
	waitForStack(t, "the watcher reading the flag file", func() bool {
		return strings.Contains(watcherStack(w), "readWindowEnd")
	})
	closed := make(chan struct{})
	go func() {
		w.close()
		close(closed)
	}()
	waitForStack(t, "close returning or waiting for the watcher", func() bool {
		select {
		case <-closed:
			return true
		default:
			return closeWaiting(t.Name())
		}
	})
	select {
	case <-closed:
		t.Error("close returned while the watcher was still reading the flag file")
	default:
	}
	// let the read finish: open the FIFO's other end, take the file away
	// so no later check blocks on it again, and close the end (EOF)
	wr, err := os.OpenFile(file, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(file)
	wr.Close()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("close did not return after the watcher's check finished")
	}
	if watcherWaiting(w) {
		t.Error("the watcher goroutine still waits for its next check after close returned")
	}
}

// closeWaiting reports whether a goroutine the named test started waits
// in close for the watcher goroutine.
func closeWaiting(test string) bool {
	for g := range strings.SplitSeq(allStacks(), "\n\n") {
		if strings.Contains(g, "(*maintenanceWatch).close(") && strings.Contains(g, "WaitGroup).Wait") &&
			strings.Contains(g, test+".func") {
			return true
		}
	}
	return false
}

// waitForStack polls cond until it holds, failing the test after a while.
func waitForStack(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
