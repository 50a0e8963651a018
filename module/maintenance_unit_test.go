package upstreamerrors

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestParseWindowEnd(t *testing.T) {
	end := time.Date(2026, 5, 1, 18, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		content string
		want    time.Time
		ok      bool
	}{
		{"", time.Time{}, true},
		{" \n", time.Time{}, true},
		{"2026-05-01T18:00:00Z", end, true},
		{"2026-05-01T18:00:00Z\n", end, true},
		{"2026-05-01T20:00:00+02:00", end, true},
		{"2026-05-01T18:00:00.5Z", end.Add(500 * time.Millisecond), true},
		{"Fri, 01 May 2026 18:00:00 GMT", end, true},
		{"Friday, 01-May-26 18:00:00 GMT", end, true}, // RFC 850, an obsolete HTTP-date
		{"Fri May  1 18:00:00 2026", end, true},       // asctime, another
		{"2026-05-01 18:00", time.Time{}, false},
		{"tomorrow", time.Time{}, false},
		{"1777658400", time.Time{}, false},
	} {
		t.Run(tc.content, func(t *testing.T) {
			got, err := parseWindowEnd(tc.content)
			if (err == nil) != tc.ok || !got.Equal(tc.want) {
				t.Errorf("parseWindowEnd(%q) = %v, %v; want %v, ok %v", tc.content, got, err, tc.want, tc.ok)
			}
		})
	}
}

func TestWindowRetryAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		end  time.Time
		want string
	}{
		{"no end", time.Time{}, ""},
		{"past", now.Add(-time.Second), ""},
		{"now", now, ""},
		{"a part of a second", now.Add(time.Millisecond), "1"},
		{"rounded up", now.Add(90*time.Second + time.Millisecond), "91"},
		{"a day", now.Add(24 * time.Hour), "86400"},
		{"over a day", now.Add(72 * time.Hour), "86400"},
		{"far future", now.AddDate(300, 0, 0), "86400"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := (&maintenanceWindow{end: tc.end}).retryAfter(now); got != tc.want {
				t.Errorf("retryAfter = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMaintenanceAllows(t *testing.T) {
	w := &maintenanceWatch{}
	for _, a := range []string{"10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::1", "172.16.5.9/12"} {
		p, err := parseAllow(a)
		if err != nil {
			t.Fatal(err)
		}
		w.allow = append(w.allow, p)
	}
	for _, tc := range []struct {
		ip   string
		want bool
	}{
		{"10.1.2.3", true},
		{"192.0.2.7", true},
		{"192.0.2.8", false},
		{"::ffff:10.1.2.3", true}, // IPv4 over an IPv6 socket
		{"2001:db8::5", true},
		{"2001:db9::5", false},
		{"::1", true},
		{"fe80::1%eth0", false},
		{"172.31.255.255", true}, // a range written with host bits set
		{"", false},
		{"not-an-ip", false},
	} {
		t.Run(tc.ip, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r = r.WithContext(context.WithValue(r.Context(), caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: tc.ip}))
			if got := w.allows(r); got != tc.want {
				t.Errorf("allows(%q) = %v, want %v", tc.ip, got, tc.want)
			}
		})
	}
}

// Content that is not a time is logged once, not on every check, and
// again only when it changes, comes back or a new window starts.
func TestMaintenanceWarnsOnce(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "maintenance")
	core, logs := observer.New(zapcore.WarnLevel)
	w := &maintenanceWatch{file: flag, logger: zap.New(core)}
	write := func(content string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(flag, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		// a new modification time each write, as a slow hand gives
		if err := os.Chtimes(flag, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	warnings := func() int { return logs.FilterField(zap.String("file", flag)).Len() }
	base := time.Now().Add(-time.Hour)

	write("soon", base)
	for range 3 {
		w.check()
	}
	if n := warnings(); n != 1 {
		t.Fatalf("%d warnings after three checks of one bad content, want 1", n)
	}
	if win := w.window.Load(); win == nil || !win.end.IsZero() {
		t.Errorf("window = %+v, want one without an end", win)
	}
	write("soon", base.Add(time.Second)) // rewritten the same
	w.check()
	write("later", base.Add(2*time.Second))
	w.check()
	if n := warnings(); n != 2 {
		t.Errorf("%d warnings after a new bad content, want 2", n)
	}
	write("2026-05-01T18:00:00Z", base.Add(3*time.Second))
	w.check()
	if win := w.window.Load(); win == nil || win.end.IsZero() || warnings() != 2 {
		t.Errorf("window = %+v with %d warnings, want an end and no new warning", win, warnings())
	}
	write("later", base.Add(4*time.Second)) // the same mistake again
	w.check()
	if n := warnings(); n != 3 {
		t.Errorf("%d warnings after bad content came back, want 3", n)
	}
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	w.check()
	if w.window.Load() != nil {
		t.Error("a window without the file")
	}
	write("later", base.Add(5*time.Second))
	w.check()
	if n := warnings(); n != 4 {
		t.Errorf("%d warnings after a new window with bad content, want 4", n)
	}
}

// The file is read only when it is new or changed: while its identity,
// modification time and size stay the same each check stats it and reads
// nothing, so content rewritten in place under the old time and size is
// not seen until the file changes again.
func TestMaintenanceFileReadOnlyWhenChanged(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "maintenance")
	w := &maintenanceWatch{file: flag, logger: zap.NewNop()}
	first := time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)
	second := time.Date(2032, 1, 1, 0, 0, 0, 0, time.UTC)
	mod := time.Now().Add(-time.Hour)
	write := func(end, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(flag, []byte(end.Format(time.RFC3339)), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(flag, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	end := func() time.Time {
		t.Helper()
		win := w.window.Load()
		if win == nil {
			t.Fatal("no window with the file there")
		}
		return win.end
	}
	write(first, mod)
	w.check()
	if got := end(); !got.Equal(first) {
		t.Fatalf("end %v, want %v", got, first)
	}
	write(second, mod) // same length, same time, same file
	w.check()
	if got := end(); !got.Equal(first) {
		t.Errorf("end %v after a check of an unchanged file, want %v as first read", got, first)
	}
	write(second, mod.Add(time.Second))
	w.check()
	if got := end(); !got.Equal(second) {
		t.Errorf("end %v after the file changed, want %v", got, second)
	}
}

// The file is checked in the background, never by a request: with the
// check period at an hour, a file created after provisioning goes unseen
// by any number of requests until the next check.
func TestMaintenanceIsNotCheckedPerRequest(t *testing.T) {
	prev := maintenanceCheckEvery
	maintenanceCheckEvery = time.Hour
	defer func() { maintenanceCheckEvery = prev }()

	flag := filepath.Join(t.TempDir(), "maintenance")
	h, w, req := maintenanceSetup(t, &Maintenance{File: flag})
	if err := os.WriteFile(flag, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	calls := 0
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		calls++
		return passThroughNext(w, r)
	})
	for range 1000 {
		w.reset()
		if err := h.ServeHTTP(w, req, next); err != nil {
			t.Fatal(err)
		}
	}
	if calls != 1000 || w.status != http.StatusOK {
		t.Fatalf("%d of 1000 requests passed (last %d); a request looked at the file", calls, w.status)
	}
	h.maintenance.check() // what the next tick does
	w.reset()
	if err := h.ServeHTTP(w, req, next); err != nil {
		t.Fatal(err)
	}
	if calls != 1000 || w.status != http.StatusServiceUnavailable {
		t.Errorf("after a check: status %d, next called %d times; want 503 without calling next", w.status, calls-1000)
	}
}

// maintenanceSetup provisions a handler with m, as passThroughSetup does.
func maintenanceSetup(tb testing.TB, m *Maintenance) (*Handler, *nopResponseWriter, *http.Request) {
	h, w, req := handlerSetup(tb, &Handler{Maintenance: m})
	h.logger = zap.NewNop()
	return h, w, req
}

// With maintenance configured, a request let through costs no allocation
// more than one without: the file is not looked at, the window is one
// atomic load, and an allowed client's IP is parsed on the stack.
func TestMaintenancePassThroughAllocations(t *testing.T) {
	if raceEnabled() {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	dir := t.TempDir()
	present := filepath.Join(dir, "present")
	if err := os.WriteFile(present, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    *Maintenance
	}{
		{"no file", &Maintenance{File: filepath.Join(dir, "absent")}},
		// httptest's client is 192.0.2.1
		{"allowed client", &Maintenance{File: present, Allow: []string{"10.0.0.0/8", "192.0.2.0/24"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, w, req := maintenanceSetup(t, tc.m)
			bare, wrapped := allocsAround(t, h, w, req, passThroughNext, nil)
			if w.status != http.StatusOK || w.n != len(passBody) {
				t.Fatalf("got status %d and %d body bytes; want the next handler's 200", w.status, w.n)
			}
			if extra := wrapped - bare; extra != 0 {
				t.Errorf("pass-through with maintenance costs %v allocations per request beyond the next handler's (%v); want 0", extra, bare)
			}
		})
	}
}

// BenchmarkMaintenanceOverhead holds a request let through by a handler
// with maintenance configured against one by a handler without it.
func BenchmarkMaintenanceOverhead(b *testing.B) {
	dir := b.TempDir()
	present := filepath.Join(dir, "present")
	if err := os.WriteFile(present, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		m    *Maintenance
	}{
		{"route=module", nil},
		{"route=maintenance", &Maintenance{File: filepath.Join(dir, "absent")}},
		{"route=allowed", &Maintenance{File: present, Allow: []string{"192.0.2.0/24"}}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			h, w, req := maintenanceSetup(b, tc.m)
			b.ReportAllocs()
			for b.Loop() {
				w.reset()
				_ = h.ServeHTTP(w, req, passThroughNext)
			}
		})
	}
}

// A flag file that exists but cannot be read keeps the window on, and the
// warning says it could not be read rather than that it holds no time.
func TestMaintenanceUnreadableFileWarns(t *testing.T) {
	flag := filepath.Join(t.TempDir(), "maintenance")
	// a directory: it exists, and reading it fails even for root
	if err := os.Mkdir(flag, 0o700); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.WarnLevel)
	w := &maintenanceWatch{file: flag, logger: zap.New(core)}
	w.check()
	if win := w.window.Load(); win == nil || !win.end.IsZero() {
		t.Fatalf("window = %+v, want one without an end", win)
	}
	entries := logs.All()
	if len(entries) != 1 || !strings.HasPrefix(entries[0].Message, "maintenance file could not be read") {
		t.Fatalf("warnings %v, want one saying the file could not be read", entries)
	}
}

// A hold may be as long as holdLimit and no longer; zero holds nothing.
func TestValidateHoldBounds(t *testing.T) {
	for _, tc := range []struct {
		d  time.Duration
		ok bool
	}{
		{0, true},
		{time.Second, true},
		{holdLimit, true},
		{holdLimit + time.Nanosecond, false},
		{-time.Nanosecond, false},
	} {
		if err := validateHold(tc.d); (err == nil) != tc.ok {
			t.Errorf("validateHold(%s) = %v, want ok %v", tc.d, err, tc.ok)
		}
	}
}

// A flag file of up to maxWindowEnd bytes is read whole (an end time with
// trailing blank lines still counts); a longer one is refused, not cut.
func TestReadWindowEndLength(t *testing.T) {
	end := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	text := end.Format(time.RFC3339)
	for _, tc := range []struct {
		size int
		ok   bool
	}{
		{maxWindowEnd, true},
		{maxWindowEnd + 1, false},
	} {
		name := filepath.Join(t.TempDir(), "maintenance")
		content := text + strings.Repeat("\n", tc.size-len(text))
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := readWindowEnd(name)
		if tc.ok && (err != nil || !got.Equal(end)) {
			t.Errorf("%d bytes: %v, %v; want %v", tc.size, got, err, end)
		}
		if !tc.ok && err == nil {
			t.Errorf("%d bytes: read as %v, want refused", tc.size, got)
		}
	}
}

// Without a hold a request in a window is answered at once: it is never
// held, so it is never found to have left while held, even when its
// client is already gone; the answer is the maintenance page. (The wait
// picks among ready events at random, hence the many requests.)
func TestMaintenanceWithoutHoldNeverWaits(t *testing.T) {
	w := &maintenanceWatch{holdMax: DefaultHoldMax, stop: make(chan struct{})}
	w.window.Store(&maintenanceWindow{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(ctx)
	for range 64 {
		if win, left := w.wait(r, w.current()); win == nil || left {
			t.Fatalf("wait = %v, %v without a hold, want the window at once and the client not seen leaving", win, left)
		}
	}
}
