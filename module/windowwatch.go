package upstreamerrors

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
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
// process: every handler configured with the window in that storage
// shares it, across reloads too, so the storage is read at most once a
// period per process and window, never per request.
type storedWindow struct {
	name    string
	storage certmagic.Storage
	state   windowState
	// logger is that of the newest handler using the window, so after a
	// reload its problems are logged where the running config says.
	logger atomic.Pointer[zap.Logger]

	// only the reading goroutine (or acquire, before it starts) uses it
	failing bool

	// under storedWindows' lock
	key   storedWindowKey
	users []*zap.Logger // the loggers of the handlers using it, oldest first

	unfollow func()
	ready    chan struct{} // closed after the first read
	stop     chan struct{} // tells the reads to stop
	stopped  chan struct{} // closed once they have: the state is final
	done     sync.WaitGroup
}

// storedWindowKey identifies a storedWindow: the storage's directory for
// file_system (each config builds its own FileStorage for the same
// files), else the storage value itself when it can be compared, else the
// handler's own, so an uncomparable storage module still works.
type storedWindowKey struct {
	storage any
	name    string
}

// fileStorageKey is a file_system storage's identity in storedWindowKey.
type fileStorageKey string

var storedWindows struct {
	sync.Mutex
	m map[storedWindowKey]*storedWindow
}

// acquireStoredWindow returns the process's follower of window name in s,
// starting one (with a first read, so the first request already sees the
// stored state) if there is none. It logs through logger from now on.
// Each call needs a release with the same logger.
func acquireStoredWindow(s certmagic.Storage, name string, logger *zap.Logger) *storedWindow {
	key := storedWindowKey{new(byte), name}
	if files, ok := s.(*certmagic.FileStorage); ok && files != nil {
		key.storage = fileStorageKey(filepath.Clean(files.Path))
	} else if t := reflect.TypeOf(s); t != nil && t.Comparable() {
		key.storage = s
	}
	storedWindows.Lock()
	if w := storedWindows.m[key]; w != nil {
		w.users = append(w.users, logger)
		w.logger.Store(logger)
		storedWindows.Unlock()
		<-w.ready
		return w
	}
	w := &storedWindow{
		name:     name,
		storage:  s,
		key:      key,
		users:    []*zap.Logger{logger},
		unfollow: window.Follow(name),
		ready:    make(chan struct{}),
		stop:     make(chan struct{}),
		stopped:  make(chan struct{}),
	}
	w.logger.Store(logger)
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

// release drops the reference of the handler logging through logger,
// stopping the reads with the last one. The newest handler left logs the
// reads' problems.
func (w *storedWindow) release(logger *zap.Logger) {
	storedWindows.Lock()
	for i, l := range slices.Backward(w.users) {
		if l == logger {
			w.users = slices.Delete(w.users, i, i+1)
			break
		}
	}
	last := len(w.users) == 0
	if last {
		delete(storedWindows.m, w.key)
	} else {
		w.logger.Store(w.users[len(w.users)-1])
	}
	storedWindows.Unlock()
	if last {
		w.unfollow()
		close(w.stop)
		w.done.Wait()
		close(w.stopped)
	}
}

// runningStoredWindow returns a reader of the window named name that has
// read it and still runs, or nil: after a reload, the new config's.
func runningStoredWindow(name string) *storedWindow {
	storedWindows.Lock()
	defer storedWindows.Unlock()
	for k, w := range storedWindows.m {
		if k.name != name {
			continue
		}
		select {
		case <-w.ready:
			return w
		default:
		}
	}
	return nil
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

// check reads the window and publishes it. On a failed read (a value too
// long to be a state is not read at all) the last state read stays (none
// at all: requests are served), with one WARN when reads start failing
// and one INFO when they work again.
func (w *storedWindow) check() {
	ctx, cancel := context.WithTimeout(context.Background(), storageReadTimeout)
	defer cancel()
	st, err := window.Load(ctx, w.storage, w.name)
	if err != nil {
		if !w.failing {
			w.failing = true
			w.logger.Load().Warn("maintenance window cannot be read from storage; keeping its last state",
				zap.String("window", w.name), zap.String("key", window.Key(w.name)),
				zap.Bool("on", w.state.Load() != nil), zap.Error(err))
		}
		return
	}
	if w.failing {
		w.failing = false
		w.logger.Load().Info("maintenance window read from storage again",
			zap.String("window", w.name), zap.String("key", window.Key(w.name)))
	}
	switch cur := w.state.Load(); {
	case !st.On:
		w.state.Store(nil)
	case cur == nil || !cur.end.Equal(st.Until):
		// an unchanged window keeps its value, so held requests are not
		// woken for nothing
		w.state.Store(&maintenanceWindow{end: st.Until})
	}
}
