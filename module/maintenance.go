package upstreamerrors

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/window"
)

// Maintenance answers every request a handler covers with 503 while a flag
// file exists or a named window kept in Caddy's storage is on, in the same
// contract as an outage: negotiated body, cause `maintenance`,
// Proxy-Status, log entry (at INFO) and metric. The next handler is not
// called.
type Maintenance struct {
	// A named window kept in the storage Caddy is configured with (the
	// `storage` global option), under the key
	// `upstream_errors/maintenance/<window>`, and switched with the admin
	// API or `caddy upstream-errors maintenance`. Every Caddy process
	// using that storage follows a change within about a second; a
	// process starts in the stored state. Letters, digits, '.', '-' and
	// '_', at most 64. May be combined with `file`: either one on starts
	// the window.
	Window string `json:"window,omitempty"`

	// The flag file. While it exists, every request the handler covers is
	// answered 503 without reaching the upstream. Creating, changing or
	// deleting it takes effect within about a second, without a reload.
	// It may hold the end of the window as an RFC 3339 time
	// (`2026-05-01T18:00:00Z`) or an HTTP-date: Retry-After is then the
	// seconds left until it, at most a day. An empty file, a past time or
	// other content sends `retry_after` (other content is logged once, at
	// WARN).
	File string `json:"file,omitempty"`

	// Client IP ranges (CIDR, or a bare address for a single host) whose
	// requests still reach the next handler during the window, so the
	// team can check the backend. The client IP is Caddy's, so the
	// server's `trusted_proxies` applies.
	Allow []string `json:"allow,omitempty"`

	// Requests matching any of these matcher sets still reach the next
	// handler during the window (its failures are still answered by the
	// handler): a load balancer's health check path, a team token in a
	// header or cookie, CORS preflights.
	BypassRaw []caddy.ModuleMap `json:"bypass,omitempty" caddy:"namespace=http.matchers"`

	// Hold a request arriving during a window for up to this long: if the
	// window ends in time it continues to the next handler as if nothing
	// happened, else it gets the maintenance answer. For windows as short
	// as a deploy's restart. At most 5m; default 0, no hold.
	Hold caddy.Duration `json:"hold,omitempty"`

	// At most this many requests are held at once in the process; the
	// rest are answered at once. Default 1000.
	HoldMax int `json:"hold_max,omitempty"`
}

// DefaultHoldMax is how many requests are held at once by default.
const DefaultHoldMax = 1000

// holdLimit is the longest hold.
const holdLimit = 5 * time.Minute

// heldRequests counts the requests held in the process, for hold_max.
var heldRequests atomic.Int64

// maintenanceCheckEvery is how often a handler looks at its flag file. It
// is a variable only so the package's tests can toggle faster; it is set
// once, before any handler is provisioned.
var maintenanceCheckEvery = time.Second

// maxWindowEnd bounds what is read of a flag file: a time is a few dozen
// bytes, and anything longer is not one.
const maxWindowEnd = 256

// validateMaintenance checks the maintenance settings.
func validateMaintenance(m *Maintenance) error {
	if m.File == "" && m.Window == "" {
		return errors.New("window or file: a named window or a flag file is required")
	}
	if m.Window != "" {
		if err := window.ValidateName(m.Window); err != nil {
			return fieldErr("window", "", err)
		}
	}
	if err := validateHold(time.Duration(m.Hold)); err != nil {
		return fieldErr("hold", "", err)
	}
	if m.HoldMax < 0 {
		return fieldErr("hold_max", "", fmt.Errorf("%d must not be negative", m.HoldMax))
	}
	for _, a := range m.Allow {
		if _, err := parseAllow(a); err != nil {
			return fieldErr("allow", a, err)
		}
	}
	return nil
}

// validateHold checks a hold duration.
func validateHold(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%s must not be negative", d)
	}
	if d > holdLimit {
		return fmt.Errorf("%s is longer than the maximum, %s", d, holdLimit)
	}
	return nil
}

// parseAllow reads a range as Caddy's IP matchers do; a bare address is a
// range of one (/32 or /128).
func parseAllow(expr string) (netip.Prefix, error) {
	p, err := caddyhttp.CIDRExpressionToPrefix(expr)
	if err != nil {
		return p, fmt.Errorf("%q is not an IP address or CIDR range (such as 10.0.0.0/8)", expr)
	}
	return p.Masked(), nil
}

// maintenanceWatch follows one handler's flag file and named window. A
// goroutine checks the file once every maintenanceCheckEvery and publishes
// what it found, and the process's follower of the named window does the
// same with storage, so a request costs atomic loads: no system call, no
// allocation.
type maintenanceWatch struct {
	file    string
	allow   []netip.Prefix
	bypass  caddyhttp.MatcherSets
	hold    time.Duration
	holdMax int64
	logger  *zap.Logger

	// window is the flag file's window in progress, nil while the file is
	// absent (or no file is configured).
	window windowState
	// stored follows the named window; nil without one.
	stored *storedWindow

	// seen is the file as last read and warned what was last logged
	// about it; only the checking goroutine uses them.
	seen   fs.FileInfo
	warned string

	stop     chan struct{}
	stopOnce sync.Once
	done     sync.WaitGroup
}

// maintenanceWindow is a maintenance window in progress.
type maintenanceWindow struct {
	// end is when the flag file or stored state says the window ends;
	// zero if it does not.
	end time.Time
}

// newMaintenanceWatch checks m's file and window once, so the first
// request already sees them, then keeps checking them until close. Its
// bypass matchers are provisioned already.
func newMaintenanceWatch(m *Maintenance, bypass caddyhttp.MatcherSets, storage certmagic.Storage, logger *zap.Logger) (*maintenanceWatch, error) {
	w := &maintenanceWatch{
		file:    m.File,
		bypass:  bypass,
		hold:    time.Duration(m.Hold),
		holdMax: int64(m.HoldMax),
		logger:  logger,
		stop:    make(chan struct{}),
	}
	if w.holdMax == 0 {
		w.holdMax = DefaultHoldMax
	}
	for _, a := range m.Allow {
		p, err := parseAllow(a)
		if err != nil {
			return nil, fmt.Errorf("allow: %v", err)
		}
		w.allow = append(w.allow, p)
	}
	if m.Window != "" {
		if storage == nil {
			return nil, errors.New("window: no storage is configured")
		}
		w.stored = acquireStoredWindow(storage, m.Window, logger)
	}
	if w.file != "" {
		w.check()
		w.done.Add(1)
		go w.run(maintenanceCheckEvery)
	}
	return w, nil
}

// run checks the file every period until stopped.
func (w *maintenanceWatch) run(period time.Duration) {
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

// close stops the checks and waits for them to end.
func (w *maintenanceWatch) close() {
	w.stopOnce.Do(func() {
		close(w.stop)
		if w.stored != nil {
			w.stored.release(w.logger)
		}
	})
	w.done.Wait()
}

// check looks at the file and publishes the window it describes. The
// file is read only when it is new or changed.
func (w *maintenanceWatch) check() {
	fi, err := os.Stat(w.file)
	if err != nil {
		w.seen = nil
		w.window.Store(nil)
		if errors.Is(err, fs.ErrNotExist) {
			w.warned = ""
			return
		}
		// whether it exists cannot be told: requests go through
		w.warn("maintenance file cannot be checked; requests are served", err)
		return
	}
	// an unchanged file is not read again (seen is set only with a window)
	if prev := w.seen; prev != nil &&
		os.SameFile(prev, fi) && prev.ModTime().Equal(fi.ModTime()) && prev.Size() == fi.Size() {
		return
	}
	w.seen = fi
	end, err := readWindowEnd(w.file)
	if err != nil {
		msg := "maintenance file does not hold an end time; sending retry_after"
		if _, ok := errors.AsType[unreadableError](err); ok {
			msg = "maintenance file could not be read, so its end time is unknown; sending retry_after"
		}
		w.warn(msg, err)
	} else {
		w.warned = "" // the same mistake again is news
	}
	w.window.Store(&maintenanceWindow{end: end})
}

// warn logs a problem with the file once, until the problem changes.
func (w *maintenanceWatch) warn(msg string, err error) {
	if text := err.Error(); text != w.warned {
		w.warned = text
		w.logger.Warn(msg, zap.String("file", w.file), zap.Error(err))
	}
}

// readWindowEnd reads the end of the window from the flag file: a zero
// time for an empty file, else an RFC 3339 time or an HTTP-date.
func readWindowEnd(name string) (time.Time, error) {
	f, err := os.Open(name)
	if err != nil {
		return time.Time{}, unreadableError{err}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxWindowEnd+1))
	if err != nil {
		return time.Time{}, unreadableError{err}
	}
	if len(b) > maxWindowEnd {
		return time.Time{}, fmt.Errorf("content is longer than %d bytes; want an RFC 3339 time or an HTTP-date", maxWindowEnd)
	}
	return parseWindowEnd(string(b))
}

// unreadableError is a flag file that exists but could not be read.
type unreadableError struct{ error }

func (e unreadableError) Unwrap() error { return e.error }

// parseWindowEnd parses the content of a flag file.
func parseWindowEnd(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := http.ParseTime(s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is neither an RFC 3339 time (2006-01-02T15:04:05Z) nor an HTTP-date", s)
}

// retryAfter returns the seconds left in the window at now, rounded up and
// at most a day, or "" when the end is unknown or past.
func (win *maintenanceWindow) retryAfter(now time.Time) string {
	if win.end.IsZero() {
		return ""
	}
	left := min(win.end.Sub(now), RetryAfterMax)
	if left <= 0 {
		return ""
	}
	return strconv.FormatInt(int64((left+time.Second-1)/time.Second), 10)
}

// covering returns the window r is answered for, or nil when there is
// none or r is let through (allowed client IP or bypass matcher).
func (w *maintenanceWatch) covering(r *http.Request) *maintenanceWindow {
	if w == nil {
		return nil
	}
	win := w.current()
	if win == nil || w.exempt(r) {
		return nil
	}
	return win
}

// current returns the window in progress, from the file or storage; with
// both on, the one announcing the later end.
func (w *maintenanceWatch) current() *maintenanceWindow {
	return w.currentWith(w.stored)
}

// currentWith is current with the named window read by stored.
func (w *maintenanceWatch) currentWith(stored *storedWindow) *maintenanceWindow {
	win := w.window.Load()
	if stored != nil {
		if s := stored.state.Load(); s != nil && (win == nil || s.end.After(win.end)) {
			win = s
		}
	}
	return win
}

// exempt reports whether r still reaches the next handler during a window.
func (w *maintenanceWatch) exempt(r *http.Request) bool {
	if w.allows(r) {
		return true
	}
	if len(w.bypass) > 0 {
		// a matcher that fails (a bad regexp input, say) lets nothing by
		ok, err := w.bypass.AnyMatchWithError(r)
		return ok && err == nil
	}
	return false
}

// wait holds r while win lasts, for up to the hold, if fewer than holdMax
// requests are held. It returns the window still in progress (nil when it
// ended in time) and whether the client left while held.
//
// A reload does not cut the hold short: the named window's reader, shared
// with the new config, keeps running, and after it a new config's reader
// of the same window is followed. Only when nothing in the process reads
// the window any more (or the flag file, which only the replaced handler
// checked, is on) can the window no longer end, and r is answered at once.
// The hold's timer bounds the wait in every case, and with it how long a
// held request delays the old server's shutdown.
func (w *maintenanceWatch) wait(r *http.Request, win *maintenanceWindow) (*maintenanceWindow, bool) {
	if w.hold <= 0 {
		return win, false
	}
	if heldRequests.Add(1) > w.holdMax {
		heldRequests.Add(-1)
		return win, false
	}
	defer heldRequests.Add(-1)
	timer := time.NewTimer(w.hold)
	defer timer.Stop()
	replaced, reader := w.stop, w.stored
	for {
		// channels first, so a change right after currentWith is not missed
		file := w.window.changes()
		var stored, readerStopped <-chan struct{}
		if reader != nil {
			stored, readerStopped = reader.state.changes(), reader.stopped
		}
		if win = w.currentWith(reader); win == nil {
			return nil, false
		}
		select {
		case <-file:
		case <-stored:
		case <-timer.C:
			return w.currentWith(reader), false
		case <-replaced:
			// a reload replaced the handler: its file is checked no more
			replaced = nil
			if reader == nil || w.window.Load() != nil {
				return win, false
			}
		case <-readerStopped:
			// the handlers using it are all gone; a new config's reader
			// of the window carries on
			if reader = runningStoredWindow(reader.name); reader == nil {
				return win, false
			}
		case <-r.Context().Done():
			return win, true
		}
	}
}

// allows reports whether r's client IP is in an allow range.
func (w *maintenanceWatch) allows(r *http.Request) bool {
	s, _ := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string)
	ip, err := netip.ParseAddr(s)
	if err != nil {
		return false
	}
	// a prefix never contains a zoned or IPv4-mapped address
	ip = ip.WithZone("").Unmap()
	for _, p := range w.allow {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// serveMaintenance answers r for the maintenance window win, through the
// same respond as every other answer, and reports true; the next handler
// is not called. With a hold, r first waits for the window to end: if it
// does in time, serveMaintenance reports false and r goes on as usual.
func (h *Handler) serveMaintenance(w http.ResponseWriter, r *http.Request, win *maintenanceWindow) bool {
	win, left := h.maintenance.wait(r, win)
	if win != nil || left {
		// this handler answers, logs and counts: an upstream_errors
		// further out leaves it alone
		coverOuter(w)
	}
	if left {
		// as the proxy records a client that left: not an upstream error
		w.WriteHeader(statusClientClosed)
		h.report(r, failure{cause: causeClientCanceled, status: statusClientClosed, err: r.Context().Err()})
		return true
	}
	if win == nil {
		return false
	}
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	rw := newResponseWriter(h, w, repl)
	defer rw.release()
	h.respond(rw, r, failure{
		cause:      causeMaintenance,
		status:     h.statusForCause(causeMaintenance),
		retryAfter: win.retryAfter(time.Now()),
	})
	return true
}

// loadBypass provisions the bypass matcher sets.
func loadBypass(ctx caddy.Context, m *Maintenance) (caddyhttp.MatcherSets, error) {
	if len(m.BypassRaw) == 0 {
		return nil, nil
	}
	mods, err := ctx.LoadModule(m, "BypassRaw")
	if err != nil {
		return nil, fmt.Errorf("bypass: %v", err)
	}
	var sets caddyhttp.MatcherSets
	if err := sets.FromInterface(mods); err != nil {
		return nil, fmt.Errorf("bypass: %v", err)
	}
	return sets, nil
}

// maintenanceStorage is the storage holding m's named window: the one the
// config has, as for certificates.
func maintenanceStorage(ctx caddy.Context, m *Maintenance) certmagic.Storage {
	if m.Window == "" {
		return nil
	}
	return ctx.Storage()
}
