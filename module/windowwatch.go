package upstreamerrors

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/window"
)

// windowState publishes a window in progress (nil while there is none)
// and wakes the requests held for it when it changes.
type windowState struct {
	cur atomic.Pointer[maintenanceWindow]

	mu      sync.Mutex
	changed chan struct{} // closed on the next change; nil until asked for
}

// Load returns the window in progress, nil if none.
func (s *windowState) Load() *maintenanceWindow { return s.cur.Load() }

// Store publishes win, waking the waiters if it differs from the last.
func (s *windowState) Store(win *maintenanceWindow) {
	if s.cur.Swap(win) == win {
		return
	}
	s.mu.Lock()
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
	s.mu.Unlock()
}

// changes returns a channel closed at the next change. Take it before
// Load, so a change between the two is not missed.
func (s *windowState) changes() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// storageReadTimeout bounds one read of a window from storage.
const storageReadTimeout = 5 * time.Second

// storedWindow follows one named window in one storage for the whole
// process: every handler configured with the window shares it, so the
// storage is read at most once a period per process and window, never per
// request.
type storedWindow struct {
	name    string
	storage certmagic.Storage
	logger  *zap.Logger
	state   windowState

	// only the reading goroutine (or acquire, before it starts) uses these
	last    []byte
	read    bool // a read has succeeded since the process started
	failing bool

	refs  int           // under storedWindows' lock
	ready chan struct{} // closed after the first read
	stop  chan struct{}
	done  sync.WaitGroup
}

// storedWindowKey identifies a storedWindow: the storage value itself when
// it can be compared (certmagic's FileStorage is a pointer), else the
// handler's own, so an uncomparable storage module still works.
type storedWindowKey struct {
	storage any
	name    string
}

var storedWindows struct {
	sync.Mutex
	m map[storedWindowKey]*storedWindow
}

// acquireStoredWindow returns the process's follower of window name in s,
// starting one (with a first read, so the first request already sees the
// stored state) if there is none. Each call needs a release.
func acquireStoredWindow(s certmagic.Storage, name string, logger *zap.Logger) *storedWindow {
	var key storedWindowKey
	if t := reflect.TypeOf(s); t != nil && t.Comparable() {
		key = storedWindowKey{s, name}
	} else {
		key = storedWindowKey{new(byte), name}
	}
	storedWindows.Lock()
	if w := storedWindows.m[key]; w != nil {
		w.refs++
		storedWindows.Unlock()
		<-w.ready
		return w
	}
	w := &storedWindow{name: name, storage: s, logger: logger, refs: 1, stop: make(chan struct{}), ready: make(chan struct{})}
	if storedWindows.m == nil {
		storedWindows.m = make(map[storedWindowKey]*storedWindow)
	}
	storedWindows.m[key] = w
	storedWindows.Unlock()

	// the first read, outside the lock: a slow storage delays only the
	// handlers of this window
	w.check()
	w.done.Add(1)
	go w.run(maintenanceCheckEvery)
	close(w.ready)
	return w
}

// release drops one reference, stopping the reads with the last one.
func (w *storedWindow) release() {
	storedWindows.Lock()
	w.refs--
	last := w.refs == 0
	if last {
		for k, v := range storedWindows.m {
			if v == w {
				delete(storedWindows.m, k)
			}
		}
	}
	storedWindows.Unlock()
	if last {
		close(w.stop)
		w.done.Wait()
	}
}

// run reads the window every period until stopped.
func (w *storedWindow) run(period time.Duration) {
	defer w.done.Done()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-t.C:
			w.check()
		}
	}
}

// check reads the window and publishes it. On a failed read the last state
// read stays (none at all: requests are served), with one WARN when reads
// start failing and one INFO when they work again.
func (w *storedWindow) check() {
	ctx, cancel := context.WithTimeout(context.Background(), storageReadTimeout)
	defer cancel()
	b, err := w.storage.Load(ctx, window.Key(w.name))
	var st window.State
	switch {
	case errors.Is(err, fs.ErrNotExist):
		b, err = nil, nil
	case err == nil && w.read && bytes.Equal(b, w.last):
		w.recovered()
		return
	case err == nil:
		st, err = window.Parse(b)
	}
	if err != nil {
		if !w.failing {
			w.failing = true
			w.logger.Warn("maintenance window cannot be read from storage; keeping its last state",
				zap.String("window", w.name), zap.String("key", window.Key(w.name)),
				zap.Bool("on", w.state.Load() != nil), zap.Error(err))
		}
		return
	}
	w.recovered()
	w.read, w.last = true, b
	if !st.On {
		w.state.Store(nil)
		return
	}
	w.state.Store(&maintenanceWindow{end: st.Until})
}

// recovered logs once that reads work again after failing.
func (w *storedWindow) recovered() {
	if w.failing {
		w.failing = false
		w.logger.Info("maintenance window read from storage again",
			zap.String("window", w.name), zap.String("key", window.Key(w.name)))
	}
}
