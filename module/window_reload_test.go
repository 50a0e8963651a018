package upstreamerrors_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/window"
	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// After a reload that sends the module's log elsewhere, the problems of a
// window's reads (shared with the old config) are logged where the new
// config says, not where the old one did.
func TestWindowLogsAfterReload(t *testing.T) {
	store, opts := windowStorage(t)
	setWindow(t, store, "shop", window.State{})
	dir := t.TempDir()
	first, second := filepath.Join(dir, "b.log"), filepath.Join(dir, "c.log")
	// the log file is an environment variable, read when the Caddyfile is
	// adapted: the same Caddyfile with another log
	opts.Global += "\nlog window {\n\toutput file {$UPSTREAM_ERRORS_WINDOW_LOG}\n\tformat json\n\tinclude " + testcaddy.LoggerName + "\n}"
	site := "upstream_errors {\n\tmaintenance {\n\t\twindow shop\n\t}\n}\nrespond up"
	t.Setenv("UPSTREAM_ERRORS_WINDOW_LOG", first)
	c := testcaddy.StartCaddyfile(t, site, opts)
	t.Setenv("UPSTREAM_ERRORS_WINDOW_LOG", second)
	c.Reload(site)

	key := windowFile(store, "shop")
	replace := func(content []byte) {
		t.Helper()
		if err := os.WriteFile(key+".tmp", content, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(key+".tmp", key); err != nil {
			t.Fatal(err)
		}
	}
	logged := func(path, msg string) int {
		n := 0
		for _, e := range testcaddy.ReadEntries(t, path, testcaddy.LoggerName) {
			if e["msg"] == msg && e["window"] == "shop" {
				n++
			}
		}
		return n
	}
	const warn = "maintenance window cannot be read from storage; keeping its last state"
	const info = "maintenance window read from storage again"

	replace([]byte("garbage"))
	eventually(t, "warned in the new config's log", func() bool { return logged(second, warn) == 1 })
	off, err := json.Marshal(window.State{})
	if err != nil {
		t.Fatal(err)
	}
	replace(off)
	eventually(t, "recovery logged in the new config's log", func() bool { return logged(second, info) == 1 })
	for _, msg := range []string{warn, info} {
		if n := logged(first, msg); n != 0 {
			t.Errorf("%q logged %d times in the old config's log", msg, n)
		}
	}
	if s, _ := statusOf(t, c, "/"); s != 200 {
		t.Errorf("window off: %d, want 200", s)
	}
}

// heldAnswer is how a held request was answered, and how long it took.
type heldAnswer struct {
	status int // 0 for a request that failed
	took   time.Duration
}

// holdThrough starts n requests to c that a window holds, and returns a
// channel of their answers.
func holdThrough(t *testing.T, c *testcaddy.Caddy, n int) <-chan heldAnswer {
	t.Helper()
	answers := make(chan heldAnswer, n)
	for range n {
		go func() {
			start := time.Now()
			res, err := c.Client.Get(c.URL("/held"))
			if err != nil {
				answers <- heldAnswer{took: time.Since(start)}
				return
			}
			res.Body.Close()
			answers <- heldAnswer{res.StatusCode, time.Since(start)}
		}()
	}
	eventually(t, fmt.Sprintf("holding %d requests", n), func() bool { return upstreamerrors.HeldRequests() == int64(n) })
	return answers
}

// storageReaderIDs returns the receivers of the goroutines reading
// windows from storage, which tell one reader from another.
func storageReaderIDs() []string {
	found := regexp.MustCompile(`\(\*storedWindow\)\.run\((0x[0-9a-f]+)`).FindAllSubmatch(allStacks(), -1)
	ids := make([]string, 0, len(found))
	for _, m := range found {
		ids = append(ids, string(m[1]))
	}
	slices.Sort(ids)
	return ids
}

// A reload does not cut holds short: requests held keep waiting on the
// window, followed by the new config, and reach the upstream when it ends,
// whether the new config shares the old one's reader (the same
// file_system storage, whose reader a reload keeps) or reads the window
// with its own.
func TestWindowHoldAcrossReload(t *testing.T) {
	for _, tc := range []struct {
		name    string
		storage func(t *testing.T) (*certmagic.FileStorage, testcaddy.Options)
		shared  bool
	}{
		{"same storage", windowStorage, true},
		{"storage of its own", func(t *testing.T) (*certmagic.FileStorage, testcaddy.Options) {
			s, _, opts := countingOptions(t)
			return s, opts
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, opts := tc.storage(t)
			up, hits := countingUpstream(t)
			setWindow(t, store, "shop", window.State{On: true})
			c := testcaddy.StartCaddyfile(t, holdSite(up, "1m"), opts)
			const held = 3
			answers := holdThrough(t, c, held)
			// a reader just started may not show in a stack dump yet
			eventually(t, "a storage reader", func() bool { return len(storageReaderIDs()) == 1 })
			before := storageReaderIDs()

			c.Reload(holdSite(up, "1m"))
			var after []string
			eventually(t, "one storage reader after the reload", func() bool {
				after = storageReaderIDs()
				return len(after) == 1
			})
			if shared := slices.Equal(before, after); shared != tc.shared {
				t.Errorf("reader %v before the reload and %v after: shared %v, want %v", before, after, shared, tc.shared)
			}
			// a reader's period or two: a held request answered at the
			// reload would have been by now
			time.Sleep(3 * upstreamerrors.MaintenanceCheckEvery())
			if n := upstreamerrors.HeldRequests(); n != held {
				t.Fatalf("%d requests held after the reload, want the %d held before it", n, held)
			}
			setWindow(t, store, "shop", window.State{})
			for range held {
				if s := (<-answers).status; s != 200 {
					t.Errorf("held request answered %d after the window ended, want the upstream's 200", s)
				}
			}
			if n := hits.Load(); n != held {
				t.Errorf("the upstream got %d requests, want the %d held", n, held)
			}
		})
	}
}

// After a reload that keeps the window, a window outlasting the hold
// still answers the held requests with the maintenance 503 at the end of
// their hold, not before; after one that drops it, nothing can end the
// window any more, so they are answered at once.
func TestWindowHoldReloadEnds(t *testing.T) {
	store, opts := windowStorage(t)
	up, hits := countingUpstream(t)
	setWindow(t, store, "shop", window.State{On: true})

	t.Run("window kept", func(t *testing.T) {
		const hold = time.Second
		c := testcaddy.StartCaddyfile(t, holdSite(up, hold.String()), opts)
		answers := holdThrough(t, c, 2)
		c.Reload(holdSite(up, hold.String()))
		for range 2 {
			if a := <-answers; a.status != 503 || a.took < hold {
				t.Errorf("held request answered %d after %v, want 503 no earlier than the %v hold", a.status, a.took, hold)
			}
		}
	})

	t.Run("window dropped", func(t *testing.T) {
		c := testcaddy.StartCaddyfile(t, holdSite(up, "1m"), opts)
		answers := holdThrough(t, c, 2)
		c.Reload(fmt.Sprintf("upstream_errors\nreverse_proxy %s", up))
		// well before the minute's hold
		eventually(t, "the held requests answered", func() bool { return upstreamerrors.HeldRequests() == 0 })
		for range 2 {
			if s := (<-answers).status; s != 503 {
				t.Errorf("held request answered %d once the window was dropped, want 503", s)
			}
		}
	})
	t.Run("flag file on", func(t *testing.T) {
		// the window off, the file on: the file is checked by the old
		// config's handler alone, so its window can no longer end
		setWindow(t, store, "shop", window.State{})
		defer setWindow(t, store, "shop", window.State{On: true})
		flag := filepath.Join(t.TempDir(), "maintenance")
		writeFlag(t, flag, "")
		site := fmt.Sprintf("upstream_errors {\n\tmaintenance %s {\n\t\twindow shop\n\t\thold 1m\n\t}\n}\nreverse_proxy %s", flag, up)
		c := testcaddy.StartCaddyfile(t, site, opts)
		answers := holdThrough(t, c, 2)
		c.Reload(site)
		eventually(t, "the held requests answered", func() bool { return upstreamerrors.HeldRequests() == 0 })
		for range 2 {
			if s := (<-answers).status; s != 503 {
				t.Errorf("held request answered %d at the reload, want 503", s)
			}
		}
	})
	if n := hits.Load(); n != 0 {
		t.Errorf("the upstream got %d requests during the window", n)
	}
}
