package upstreamerrors_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/window"
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
