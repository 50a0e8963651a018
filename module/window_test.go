package upstreamerrors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/window"
	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// windowStorage is a file_system storage in a fresh directory and the
// global option that gives it to Caddy.
func windowStorage(t *testing.T) (*certmagic.FileStorage, testcaddy.Options) {
	t.Helper()
	dir := t.TempDir()
	return &certmagic.FileStorage{Path: dir}, testcaddy.Options{Global: "storage file_system " + dir}
}

// setWindow writes a window's state as the admin API does.
func setWindow(t *testing.T, s certmagic.Storage, name string, st window.State) {
	t.Helper()
	if err := window.Store(context.Background(), s, name, st); err != nil {
		t.Fatal(err)
	}
}

// windowFile is where a file_system storage keeps window name.
func windowFile(s *certmagic.FileStorage, name string) string {
	return s.Filename(window.Key(name))
}

// A named window in storage is followed without a reload, in the
// maintenance contract, and a Caddy started while it is on starts in it.
func TestWindowFromStorage(t *testing.T) {
	store, opts := windowStorage(t)
	up, hits := countingUpstream(t)
	end := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	setWindow(t, store, "shop", window.State{On: true, Until: end})
	opts.Admin = true
	c := testcaddy.StartCaddyfile(t, fmt.Sprintf("upstream_errors {\n\tmaintenance {\n\t\twindow shop\n\t}\n}\nreverse_proxy %s", up), opts)

	// on from the first request: the stored state is read at load
	before := time.Now()
	res, _, id := request(t, c, "GET", "/orders")
	if res.StatusCode != 503 {
		t.Fatalf("first request with the window stored on: %d, want 503", res.StatusCode)
	}
	lo, hi := secondsLeft(end, before, time.Now())
	expectRetryAfterWithin(t, res.Header.Get("Retry-After"), lo, hi)
	expectMaintenanceEntry(t, c, id, "GET", "/orders")

	setWindow(t, store, "shop", window.State{})
	eventually(t, "serving once the window is off", func() bool { s, _ := statusOf(t, c, "/"); return s == 200 })

	// on with no announced end: retry_after's default
	setWindow(t, store, "shop", window.State{On: true})
	eventually(t, "in maintenance once the window is on", func() bool { s, _ := statusOf(t, c, "/"); return s == 503 })
	if s, ra := statusOf(t, c, "/"); s != 503 || ra != "10" {
		t.Errorf("window without an end: %d Retry-After %q, want 503 and 10", s, ra)
	}

	// another window in the same storage is not this handler's
	if err := os.Remove(windowFile(store, "shop")); err != nil {
		t.Fatal(err)
	}
	setWindow(t, store, "blog", window.State{On: true})
	eventually(t, "serving once the window's key is gone", func() bool { s, _ := statusOf(t, c, "/"); return s == 200 })
	if hits.Load() == 0 {
		t.Error("the upstream was never reached")
	}
}

// While storage cannot be read the last state read stays, with one WARN
// when reading starts failing and one INFO when it works again; a handler
// that never read its window serves as usual.
func TestWindowStorageUnreadable(t *testing.T) {
	store, opts := windowStorage(t)
	up, _ := countingUpstream(t)
	site := fmt.Sprintf("upstream_errors {\n\tmaintenance {\n\t\twindow shop\n\t}\n}\nreverse_proxy %s", up)
	key := windowFile(store, "shop")
	// replace swaps the key's file for one holding content in one rename,
	// so no read sees the key missing (a window with no key is off)
	replace := func(content []byte) {
		t.Helper()
		tmp := key + ".tmp"
		if err := os.WriteFile(tmp, content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, key); err != nil {
			t.Fatal(err)
		}
	}
	state := func(st window.State) []byte {
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	logged := func(c *testcaddy.Caddy, level, msg string) int {
		n := 0
		for _, e := range c.Entries(testcaddy.LoggerName) {
			if e["level"] == level && e["msg"] == msg && e["window"] == "shop" {
				n++
			}
		}
		return n
	}
	const warn = "maintenance window cannot be read from storage; keeping its last state"
	const info = "maintenance window read from storage again"

	t.Run("last state kept", func(t *testing.T) {
		setWindow(t, store, "shop", window.State{On: true})
		c := testcaddy.StartCaddyfile(t, site, opts)
		if s, _ := statusOf(t, c, "/"); s != 503 {
			t.Fatalf("window on: %d, want 503", s)
		}
		// what is stored is not a window's state: a failed read
		replace([]byte("garbage"))
		eventually(t, "warned", func() bool { return logged(c, "warn", warn) == 1 })
		// several failed reads later: still on, still one WARN
		time.Sleep(5 * upstreamerrors.MaintenanceCheckEvery())
		if s, _ := statusOf(t, c, "/"); s != 503 {
			t.Errorf("storage unreadable after the window was read on: %d, want 503", s)
		}
		if n := logged(c, "warn", warn); n != 1 {
			t.Errorf("%d WARN entries while storage stays unreadable, want 1", n)
		}
		replace(state(window.State{}))
		eventually(t, "serving once storage is readable and the window off", func() bool { s, _ := statusOf(t, c, "/"); return s == 200 })
		if n := logged(c, "info", info); n != 1 {
			t.Errorf("%d INFO entries on recovery, want 1", n)
		}
		if n := logged(c, "warn", warn); n != 1 {
			t.Errorf("%d WARN entries in all, want 1", n)
		}
	})

	t.Run("never read", func(t *testing.T) {
		// a directory where the key's file should be: every read fails
		if err := os.Remove(key); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(key, 0o700); err != nil {
			t.Fatal(err)
		}
		c := testcaddy.StartCaddyfile(t, site, opts)
		if s, _ := statusOf(t, c, "/"); s != 200 {
			t.Errorf("window never read: %d, want the upstream's 200", s)
		}
		time.Sleep(3 * upstreamerrors.MaintenanceCheckEvery())
		if n := logged(c, "warn", warn); n != 1 {
			t.Errorf("%d WARN entries, want 1", n)
		}
		if err := os.Remove(key); err != nil {
			t.Fatal(err)
		}
		setWindow(t, store, "shop", window.State{On: true})
		eventually(t, "in maintenance once the window is readable", func() bool { s, _ := statusOf(t, c, "/"); return s == 503 })
	})
}

// Bypass matchers and allowed IPs reach the upstream during a window,
// whose failures the module still answers; everything else gets the 503.
func TestWindowBypass(t *testing.T) {
	store, opts := windowStorage(t)
	up, hits := countingUpstream(t)
	setWindow(t, store, "shop", window.State{On: true})
	c := testcaddy.StartCaddyfile(t, fmt.Sprintf(`@team header X-Team-Token s3cret
@preflight method OPTIONS
@cookie header_regexp Cookie (^|;\s*)team=s3cret(;|$)
upstream_errors {
	maintenance {
		window shop
		allow 192.0.2.0/24
		bypass @team
		bypass @preflight
		bypass @cookie
		bypass /healthz
	}
}
reverse_proxy %s`, up), opts)

	for _, tc := range []struct {
		name, method, path string
		hdr                []string
		through            bool
	}{
		{"no bypass", "GET", "/", nil, false},
		{"team header", "GET", "/", []string{"X-Team-Token", "s3cret"}, true},
		{"wrong team header", "GET", "/", []string{"X-Team-Token", "guess"}, false},
		{"team cookie", "GET", "/", []string{"Cookie", "a=1; team=s3cret"}, true},
		{"wrong team cookie", "GET", "/", []string{"Cookie", "team=s3cret2"}, false},
		{"health path", "GET", "/healthz", nil, true},
		{"below health path", "GET", "/healthz/x", nil, false},
		{"preflight", "OPTIONS", "/api", nil, true},
		{"DELETE", "DELETE", "/api", nil, false},
		{"spoofed forwarded IP", "GET", "/", []string{"X-Forwarded-For", "192.0.2.7"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := hits.Load()
			res, _, _ := request(t, c, tc.method, tc.path, tc.hdr...)
			reached := hits.Load() > before
			if want := map[bool]int{true: 200, false: 503}[tc.through]; res.StatusCode != want || reached != tc.through {
				t.Errorf("%d, upstream reached: %v; want %d", res.StatusCode, reached, want)
			}
		})
	}

	t.Run("failures of bypassed requests", func(t *testing.T) {
		res, body, id := request(t, c, "GET", "/error", "X-Team-Token", "s3cret")
		expectProblem(t, c, res, body, id, problem{status: 502, cause: "http_response_status", upstream: 500})
	})

	t.Run("allowed IP", func(t *testing.T) {
		c.Reload(fmt.Sprintf("upstream_errors {\n\tmaintenance {\n\t\twindow shop\n\t\tallow 127.0.0.1\n\t}\n}\nreverse_proxy %s", up))
		if s, _ := statusOf(t, c, "/"); s != 200 {
			t.Errorf("allowed client: %d, want 200", s)
		}
	})
}

// holdSite is a site holding requests for a named window.
func holdSite(up, hold string) string {
	return fmt.Sprintf("upstream_errors {\n\tmaintenance {\n\t\twindow shop\n\t\thold %s\n\t}\n}\nreverse_proxy %s", hold, up)
}

// Requests arriving during a window with a hold wait; when the window
// ends they all reach the upstream, none before; past the bound the rest
// are answered at once.
func TestWindowHold(t *testing.T) {
	store, opts := windowStorage(t)
	up, hits := countingUpstream(t)
	setWindow(t, store, "shop", window.State{On: true})
	opts.Admin = true
	c := testcaddy.StartCaddyfile(t, holdSite(up, "1m 3"), opts)

	const held = 3
	statuses := make(chan int, held)
	var wg sync.WaitGroup
	for range held {
		wg.Go(func() {
			res, _, _ := request(t, c, "GET", "/")
			statuses <- res.StatusCode
		})
	}
	eventually(t, "holding three requests", func() bool { return upstreamerrors.HeldRequests() == held })

	// the bound: a fourth is answered at once, during the window
	res, _, id := request(t, c, "GET", "/over")
	if res.StatusCode != 503 || res.Header.Get("Retry-After") != "10" {
		t.Errorf("request over the bound: %d Retry-After %q, want 503 and 10", res.StatusCode, res.Header.Get("Retry-After"))
	}
	expectMaintenanceEntry(t, c, id, "GET", "/over")
	if n := hits.Load(); n != 0 {
		t.Fatalf("the upstream got %d requests while the window was on", n)
	}
	select {
	case s := <-statuses:
		t.Fatalf("a held request was answered %d during the window", s)
	default:
	}

	setWindow(t, store, "shop", window.State{})
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != 200 {
			t.Errorf("held request answered %d after the window ended, want the upstream's 200", s)
		}
	}
	if n := hits.Load(); n != held {
		t.Errorf("the upstream got %d requests, want the %d held", n, held)
	}
	if n := upstreamerrors.HeldRequests(); n != 0 {
		t.Errorf("%d requests still counted as held", n)
	}
}

// A window that outlasts the hold gets the maintenance 503 after it; a
// client that leaves while held frees its slot and is logged as a client
// cancel, not counted as an upstream error.
func TestWindowHoldEnds(t *testing.T) {
	store, opts := windowStorage(t)
	up, hits := countingUpstream(t)
	setWindow(t, store, "shop", window.State{On: true})
	opts.Admin = true

	t.Run("window outlasts the hold", func(t *testing.T) {
		const hold = 300 * time.Millisecond
		c := testcaddy.StartCaddyfile(t, holdSite(up, hold.String()), opts)
		start := time.Now()
		res, _, id := request(t, c, "GET", "/late")
		// the whole hold first: the client's wait bounds the server's
		// from above
		if took := time.Since(start); took < hold {
			t.Errorf("answered after %v, before the %v hold ended", took, hold)
		}
		if res.StatusCode != 503 || res.Header.Get("Retry-After") != "10" {
			t.Errorf("after the hold: %d Retry-After %q, want 503 and 10", res.StatusCode, res.Header.Get("Retry-After"))
		}
		expectMaintenanceEntry(t, c, id, "GET", "/late")
	})

	t.Run("client leaves", func(t *testing.T) {
		c := testcaddy.StartCaddyfile(t, holdSite(up, "1m"), opts)
		const series = `caddy_http_upstream_errors_total{cause="maintenance",class="5xx",server="srv0",status="503"}`
		counted := scrape(t, c, series)
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "GET", c.URL("/gone"), nil)
		const id = "held-client-leaves"
		req.Header.Set("X-Request-ID", id)
		done := make(chan error, 1)
		go func() {
			res, err := c.Client.Do(req)
			if err == nil {
				res.Body.Close()
			}
			done <- err
		}()
		eventually(t, "holding the request", func() bool { return upstreamerrors.HeldRequests() == 1 })
		cancel()
		<-done
		eventually(t, "the slot freed", func() bool { return upstreamerrors.HeldRequests() == 0 })
		entries := c.WaitEntries(id, 5*time.Second)
		if len(entries) != 1 || entries[0]["cause"] != "client_canceled" || entries[0]["msg"] != "client error" {
			t.Errorf("log entries %v, want one client error with cause client_canceled", entries)
		}
		if got := scrape(t, c, series); got != counted {
			t.Errorf("%s went from %v to %v; a client that left is not a maintenance answer", series, counted, got)
		}
	})
	if n := hits.Load(); n != 0 {
		t.Errorf("the upstream got %d requests during the window", n)
	}
}

// The file and a named window together: either one on starts the window.
func TestWindowBesideFile(t *testing.T) {
	store, opts := windowStorage(t)
	up, _ := countingUpstream(t)
	flag := filepath.Join(t.TempDir(), "maintenance")
	c := testcaddy.StartCaddyfile(t, fmt.Sprintf("upstream_errors {\n\tmaintenance %s {\n\t\twindow shop\n\t}\n}\nreverse_proxy %s", flag, up), opts)
	if s, _ := statusOf(t, c, "/"); s != 200 {
		t.Fatalf("neither on: %d, want 200", s)
	}
	writeFlag(t, flag, "")
	eventually(t, "on by the file", func() bool { s, _ := statusOf(t, c, "/"); return s == 503 })
	if err := os.Remove(flag); err != nil {
		t.Fatal(err)
	}
	eventually(t, "off", func() bool { s, _ := statusOf(t, c, "/"); return s == 200 })
	setWindow(t, store, "shop", window.State{On: true})
	eventually(t, "on by the window", func() bool { s, _ := statusOf(t, c, "/"); return s == 503 })
}

// storageReaders counts the goroutines reading windows from storage.
func storageReaders() int {
	return bytes.Count(allStacks(), []byte("(*storedWindow).run("))
}

// allStacks returns the stacks of every goroutine: one cut short would
// miss a goroutine when other tests leave many behind.
func allStacks() []byte {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			return buf[:n]
		}
		buf = make([]byte, 2*len(buf))
	}
}

// Handlers sharing a window share its reads: one reader per process and
// window, however many sites use it, and none once Caddy stops.
func TestWindowReadOncePerProcess(t *testing.T) {
	store, opts := windowStorage(t)
	up, _ := countingUpstream(t)
	site := fmt.Sprintf("upstream_errors {\n\tmaintenance {\n\t\twindow shop\n\t}\n}\nreverse_proxy %s", up)
	other := fmt.Sprintf("upstream_errors {\n\tmaintenance {\n\t\twindow blog\n\t}\n}\nreverse_proxy %s", up)
	t.Run("running", func(t *testing.T) {
		c := testcaddy.StartSites(t, map[string]string{"a.localhost": site, "b.localhost": site, "c.localhost": other}, opts)
		// a reader just started may not show in a stack dump yet
		eventually(t, "one storage reader per window", func() bool { return storageReaders() >= 2 })
		if n := storageReaders(); n != 2 {
			t.Errorf("%d storage readers for two windows in three sites, want 2", n)
		}
		setWindow(t, store, "shop", window.State{On: true})
		for _, host := range []string{"a.localhost", "b.localhost"} {
			eventually(t, host+" in maintenance", func() bool {
				req, _ := http.NewRequest("GET", c.URL("/"), nil)
				req.Host = host
				res, err := c.Client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				return res.StatusCode == 503
			})
		}
	})
	eventually(t, "no storage reader once Caddy stopped", func() bool { return storageReaders() == 0 })
}
