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

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Maintenance answers every request a handler covers with 503 while a flag
// file exists, in the same contract as an outage: negotiated body, cause
// `maintenance`, Proxy-Status, log entry (at INFO) and metric. The next
// handler is not called.
type Maintenance struct {
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
}

// maintenanceCheckEvery is how often a handler looks at its flag file. It
// is a variable only so the package's tests can toggle faster; it is set
// once, before any handler is provisioned.
var maintenanceCheckEvery = time.Second

// maxWindowEnd bounds what is read of a flag file: a time is a few dozen
// bytes, and anything longer is not one.
const maxWindowEnd = 256

// ValidateMaintenance checks the maintenance settings.
func ValidateMaintenance(m *Maintenance) error {
	if m.File == "" {
		return errors.New("file: a flag file is required")
	}
	for _, a := range m.Allow {
		if err := ValidateAllow(a); err != nil {
			return fmt.Errorf("allow: %v", err)
		}
	}
	return nil
}

// ValidateAllow checks one maintenance allow entry: a CIDR range or an IP.
func ValidateAllow(expr string) error {
	_, err := parseAllow(expr)
	return err
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

// maintenanceWatch follows one handler's flag file. A goroutine checks the
// file once every maintenanceCheckEvery and publishes what it found, so a
// request costs one atomic load: no system call, no allocation.
type maintenanceWatch struct {
	file   string
	allow  []netip.Prefix
	logger *zap.Logger

	// window is the window in progress, nil while the file is absent.
	window atomic.Pointer[maintenanceWindow]

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
	// end is when the flag file says the window ends; zero if it does not.
	end time.Time
}

// newMaintenanceWatch checks m's file once, so the first request already
// sees it, then keeps checking it until stop.
func newMaintenanceWatch(m *Maintenance, logger *zap.Logger) (*maintenanceWatch, error) {
	w := &maintenanceWatch{file: m.File, logger: logger, stop: make(chan struct{})}
	for _, a := range m.Allow {
		p, err := parseAllow(a)
		if err != nil {
			return nil, fmt.Errorf("allow: %v", err)
		}
		w.allow = append(w.allow, p)
	}
	w.check()
	w.done.Add(1)
	go w.run(maintenanceCheckEvery)
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
	w.stopOnce.Do(func() { close(w.stop) })
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
	if prev := w.seen; prev != nil && w.window.Load() != nil &&
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
// none or r's client is allowed through.
func (w *maintenanceWatch) covering(r *http.Request) *maintenanceWindow {
	if w == nil {
		return nil
	}
	win := w.window.Load()
	if win == nil || len(w.allow) > 0 && w.allows(r) {
		return nil
	}
	return win
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
// same respond as every other answer; the next handler is not called.
func (h *Handler) serveMaintenance(w http.ResponseWriter, r *http.Request, win *maintenanceWindow) error {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	rw := newResponseWriter(h, w, repl)
	defer rw.release()
	h.respond(rw, r, failure{
		cause:      CauseMaintenance,
		status:     h.statusForCause(CauseMaintenance),
		retryAfter: win.retryAfter(time.Now()),
	})
	return nil
}
