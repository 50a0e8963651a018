package upstreamerrors_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/window"
	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

func init() {
	caddy.RegisterModule(countingStorage{})
}

// countingStorage is a test-only storage module: file_system storage in
// Root that counts what is done to each key, for every config using Root
// (each builds its own storage value).
type countingStorage struct {
	Root string `json:"root"`
}

// CaddyModule returns the Caddy module information.
func (countingStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "caddy.storage.upstream_errors_counting",
		New: func() caddy.Module { return new(countingStorage) },
	}
}

// CertMagicStorage returns the counting storage.
func (s *countingStorage) CertMagicStorage() (certmagic.Storage, error) {
	return &countedFiles{FileStorage: certmagic.FileStorage{Path: s.Root}, counts: storageCounts(s.Root)}, nil
}

// UnmarshalCaddyfile reads `storage upstream_errors_counting <root>`.
func (s *countingStorage) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next()
	if !d.NextArg() {
		return d.ArgErr()
	}
	s.Root = d.Val()
	return nil
}

// keyCounts is what was done to one key.
type keyCounts struct {
	loads, stats atomic.Int64
	// loadedBytes is the bytes its loads returned, in all.
	loadedBytes atomic.Int64
}

var counted struct {
	sync.Mutex
	roots map[string]*sync.Map // root -> key -> *keyCounts
}

// storageCounts returns the counts of the storage in root.
func storageCounts(root string) *sync.Map {
	counted.Lock()
	defer counted.Unlock()
	if counted.roots == nil {
		counted.roots = make(map[string]*sync.Map)
	}
	m := counted.roots[root]
	if m == nil {
		m = new(sync.Map)
		counted.roots[root] = m
	}
	return m
}

// countsOf returns the counts of key in the storage in root.
func countsOf(root, key string) *keyCounts {
	c, _ := storageCounts(root).LoadOrStore(key, new(keyCounts))
	return c.(*keyCounts)
}

// countedFiles is a FileStorage counting its loads and stats by key.
type countedFiles struct {
	certmagic.FileStorage
	counts *sync.Map
}

func (s *countedFiles) of(key string) *keyCounts {
	c, _ := s.counts.LoadOrStore(key, new(keyCounts))
	return c.(*keyCounts)
}

func (s *countedFiles) Load(ctx context.Context, key string) ([]byte, error) {
	b, err := s.FileStorage.Load(ctx, key)
	c := s.of(key)
	c.loads.Add(1)
	c.loadedBytes.Add(int64(len(b)))
	return b, err
}

func (s *countedFiles) Stat(ctx context.Context, key string) (certmagic.KeyInfo, error) {
	s.of(key).stats.Add(1)
	return s.FileStorage.Stat(ctx, key)
}

// countingOptions are the options giving Caddy a counting storage in a
// fresh directory, with a FileStorage on the same files for the test.
func countingOptions(t *testing.T) (*certmagic.FileStorage, string, testcaddy.Options) {
	t.Helper()
	dir := t.TempDir()
	return &certmagic.FileStorage{Path: dir}, dir, testcaddy.Options{Global: "storage upstream_errors_counting " + dir}
}

// Storage is read at most once a period per process and window, never per
// request: two thousand requests to three sites sharing a window cost a
// read (a stat and a load) per period they span, however many there are.
func TestWindowReadsPerPeriod(t *testing.T) {
	store, dir, opts := countingOptions(t)
	setWindow(t, store, "shop", window.State{})
	site := "upstream_errors {\n\tmaintenance {\n\t\twindow shop\n\t}\n}\nrespond up"
	start := time.Now()
	c := testcaddy.StartSites(t, map[string]string{"a.localhost": site, "b.localhost": site, "c.localhost": site}, opts)
	const requests = 2000
	var (
		wg   sync.WaitGroup
		next atomic.Int64
		ok   atomic.Int64
	)
	for range 8 {
		wg.Go(func() {
			for i := next.Add(1); i <= requests; i = next.Add(1) {
				req, _ := http.NewRequest("GET", c.URL("/"), nil)
				req.Host = []string{"a.localhost", "b.localhost", "c.localhost"}[i%3]
				res, err := c.Client.Do(req)
				if err != nil {
					continue
				}
				res.Body.Close()
				if res.StatusCode == 200 {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	// a couple of periods more, so reads that were due happened
	time.Sleep(2 * upstreamerrors.MaintenanceCheckEvery())
	counts := countsOf(dir, window.Key("shop"))
	loads, stats := counts.loads.Load(), counts.stats.Load()
	elapsed := time.Since(start)
	if ok.Load() != requests {
		t.Fatalf("%d of %d requests answered 200", ok.Load(), requests)
	}
	// one read at load, then one a period
	most := int64(elapsed/upstreamerrors.MaintenanceCheckEvery()) + 2
	if loads > most || stats > most {
		t.Errorf("%d loads and %d stats of the window in %v for %d requests; want at most one each a period (%v), %d", loads, stats, elapsed, requests, upstreamerrors.MaintenanceCheckEvery(), most)
	}
	if loads == 0 {
		t.Error("the window was never read")
	}
}

// A stored value too long to be a window's state is refused by its size,
// without being loaded: the last state read stays, with one WARN naming
// the size.
func TestWindowLongValueUnread(t *testing.T) {
	store, dir, opts := countingOptions(t)
	setWindow(t, store, "shop", window.State{On: true})
	c := testcaddy.StartCaddyfile(t, "upstream_errors {\n\tmaintenance {\n\t\twindow shop\n\t}\n}\nrespond up", opts)
	if s, _ := statusOf(t, c, "/"); s != 503 {
		t.Fatalf("window on: %d, want 503", s)
	}
	// a few KB, put in place in one rename
	long := fmt.Appendf(nil, `{"on":false,"pad":%q}`, strings.Repeat("x", 5000))
	key := windowFile(store, "shop")
	if err := os.WriteFile(key+".tmp", long, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(key+".tmp", key); err != nil {
		t.Fatal(err)
	}
	const warn = "maintenance window cannot be read from storage; keeping its last state"
	want := fmt.Sprintf("stored state is %d bytes, longer than 4096", len(long))
	warned := func() []testcaddy.Entry {
		var out []testcaddy.Entry
		for _, e := range c.Entries(testcaddy.LoggerName) {
			if e["msg"] == warn {
				out = append(out, e)
			}
		}
		return out
	}
	eventually(t, "warned", func() bool { return len(warned()) > 0 })
	counts := countsOf(dir, window.Key("shop"))
	loads, stats := counts.loads.Load(), counts.stats.Load()
	time.Sleep(5 * upstreamerrors.MaintenanceCheckEvery())
	if n := counts.loads.Load() - loads; n != 0 {
		t.Errorf("the long value was loaded %d times after the WARN, want never", n)
	}
	if counts.stats.Load() == stats {
		t.Error("the key was not looked at after the WARN")
	}
	if s, _ := statusOf(t, c, "/"); s != 503 {
		t.Errorf("with the value refused: %d, want the last state's 503", s)
	}
	if es := warned(); len(es) != 1 || es[0]["error"] != want || es[0]["on"] != true {
		t.Errorf("WARN entries %v, want one with error %q and on", es, want)
	}
}
