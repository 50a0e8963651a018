// Package testcaddy runs a real Caddy, in process, with the upstream_errors
// module for end-to-end tests, and reads back the module's log entries.
package testcaddy

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-upstream-errors/caddy-upstream-errors/caddyfile"
	_ "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// LoggerName is the module's logger.
const LoggerName = "http.handlers.upstream_errors"

// caddyMu serializes tests: a process runs one Caddy config at a time.
var caddyMu sync.Mutex

// Caddy is a running Caddy instance.
type Caddy struct {
	t       testing.TB
	opts    Options
	Port    int
	Admin   string
	LogPath string
	Client  *http.Client
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Options tunes Start.
type Options struct {
	// Admin enables the admin endpoint (for /metrics) on a free port.
	Admin bool
	// Global holds extra global options, such as a servers block.
	Global string
}

// StartCaddyfile adapts site, the body of a site block, served on a free
// loopback port, and runs it. The module's log goes to a JSON file.
func StartCaddyfile(t testing.TB, site string, opts ...Options) *Caddy {
	t.Helper()
	c := newCaddy(t, opts)
	c.load(c.adapt(site))
	return c
}

// Reload replaces the running config with site, adapted as StartCaddyfile
// did, on the same port and with the same options: what `caddy reload`
// does with an edited Caddyfile.
func (c *Caddy) Reload(site string) {
	c.t.Helper()
	c.load(c.adapt(site))
}

// adapt builds the Caddyfile for site and adapts it.
func (c *Caddy) adapt(site string) []byte {
	c.t.Helper()
	global := "{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n"
	if c.Admin != "" {
		global = fmt.Sprintf("{\n\tadmin %s\n\tauto_https off\n\tpersist_config off\n\tmetrics\n", c.Admin)
	}
	global += c.opts.Global + "\n"
	cf := fmt.Sprintf("%s}\nhttp://127.0.0.1:%d {\n\tbind 127.0.0.1\n%s\n}\n", global, c.Port, site)
	cfg, err := Adapt(string(caddyfile.Format([]byte(cf))))
	if err != nil {
		c.t.Fatalf("adapting Caddyfile: %v\n%s", err, cf)
	}
	return cfg
}

// StartSites adapts one site block per host, all served on the same free
// loopback port, and runs them; a request picks its site by Host. Use it
// where a site's top level is under test, as for a directive placed there.
func StartSites(t testing.TB, sites map[string]string, opts ...Options) *Caddy {
	t.Helper()
	c := newCaddy(t, opts)
	global := "{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n"
	if c.Admin != "" {
		global = fmt.Sprintf("{\n\tadmin %s\n\tauto_https off\n\tpersist_config off\n\tmetrics\n", c.Admin)
	}
	if len(opts) > 0 {
		global += opts[0].Global + "\n"
	}
	var cf strings.Builder
	cf.WriteString(global + "}\n")
	for _, host := range slices.Sorted(maps.Keys(sites)) {
		fmt.Fprintf(&cf, "http://%s:%d {\n\tbind 127.0.0.1\n%s\n}\n", host, c.Port, sites[host])
	}
	cfg, err := Adapt(string(caddyfile.Format([]byte(cf.String()))))
	if err != nil {
		t.Fatalf("adapting Caddyfile: %v\n%s", err, cf.String())
	}
	c.load(cfg)
	return c
}

// StartJSON runs a JSON config; the string PORT in it becomes the free
// port, and a logging section is added.
func StartJSON(t testing.TB, cfg string) *Caddy {
	t.Helper()
	c := newCaddy(t, nil)
	c.ReloadJSON(cfg)
	return c
}

// ReloadJSON replaces the running config with cfg, read as StartJSON
// reads it.
func (c *Caddy) ReloadJSON(cfg string) {
	c.t.Helper()
	c.load([]byte(strings.ReplaceAll(cfg, "PORT", fmt.Sprint(c.Port))))
}

// Adapt turns a Caddyfile into JSON, failing on warnings too.
func Adapt(caddyfileText string) ([]byte, error) {
	cfg, warns, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfileText), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return nil, err
	}
	if len(warns) > 0 {
		return nil, fmt.Errorf("adapter warnings: %v", warns)
	}
	return cfg, nil
}

func newCaddy(t testing.TB, opts []Options) *Caddy {
	caddyMu.Lock()
	c := &Caddy{
		t:       t,
		Port:    FreePort(t),
		LogPath: filepath.Join(t.TempDir(), "caddy.log"),
		Client: &http.Client{
			Timeout: 20 * time.Second,
			// a fresh transport per Caddy so no pooled connection outlives it
			Transport: &http.Transport{DisableCompression: true},
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
	if len(opts) > 0 {
		c.opts = opts[0]
	}
	if c.opts.Admin {
		c.Admin = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	}
	t.Cleanup(func() {
		c.Client.CloseIdleConnections()
		if err := caddy.Stop(); err != nil {
			t.Errorf("stopping caddy: %v", err)
		}
		caddyMu.Unlock()
	})
	return c
}

// load runs cfg with the module's log (at every level) in c.LogPath.
func (c *Caddy) load(cfg []byte) {
	c.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(cfg, &m); err != nil {
		c.t.Fatal(err)
	}
	logging, _ := m["logging"].(map[string]any)
	if logging == nil {
		logging = map[string]any{}
		m["logging"] = logging
	}
	logs, _ := logging["logs"].(map[string]any)
	if logs == nil {
		logs = map[string]any{}
		logging["logs"] = logs
	}
	def, _ := logs["default"].(map[string]any)
	if def == nil {
		def = map[string]any{}
		logs["default"] = def
	}
	def["writer"] = map[string]any{"output": "file", "filename": c.LogPath}
	def["encoder"] = map[string]any{"format": "json"}
	def["level"] = "DEBUG"
	if _, ok := m["admin"]; !ok {
		m["admin"] = map[string]any{"disabled": true}
	}
	out, err := json.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	if err := caddy.Load(out, true); err != nil {
		c.t.Fatalf("loading config: %v\n%s", err, out)
	}
	// the old config's servers, the admin endpoint's too, close their idle
	// connections as they stop: a request must not pick one of them up from
	// a pool and see it reset (tests reach the admin endpoint with
	// http.DefaultClient)
	c.Client.CloseIdleConnections()
	http.DefaultClient.CloseIdleConnections()
}

// URL returns the address of path on the Caddy server.
func (c *Caddy) URL(path string) string {
	return fmt.Sprintf("http://127.0.0.1:%d%s", c.Port, path)
}

// Entry is one decoded log entry.
type Entry map[string]any

// Entries returns the log entries of logger (all of them if empty).
func (c *Caddy) Entries(logger string) []Entry {
	c.t.Helper()
	return ReadEntries(c.t, c.LogPath, logger)
}

// ReadEntries returns the entries of logger (all of them if empty) in the
// JSON log file at path, such as the output of a log the config names.
func ReadEntries(t testing.TB, path, logger string) []Entry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []Entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e Entry
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if logger == "" || e["logger"] == logger {
			out = append(out, e)
		}
	}
	return out
}

// ModuleEntries returns the module's entries that carry requestID.
func (c *Caddy) ModuleEntries(requestID string) []Entry {
	var out []Entry
	for _, e := range c.Entries(LoggerName) {
		if e["request_id"] == requestID {
			out = append(out, e)
		}
	}
	return out
}

// WaitEntries polls until at least one module entry carries requestID,
// for entries written after the response (such as a client that left),
// then keeps watching until no new one came for a quiet spell, so a late
// duplicate is returned too and "exactly one entry" can see it.
func (c *Caddy) WaitEntries(requestID string, within time.Duration) []Entry {
	const quiet = 300 * time.Millisecond
	deadline := time.Now().Add(within)
	var es []Entry
	var settled time.Time
	for {
		got := c.ModuleEntries(requestID)
		if len(got) != len(es) {
			es, settled = got, time.Now().Add(quiet)
		}
		switch {
		case len(es) > 0 && !time.Now().Before(settled):
			return es
		case time.Now().After(deadline):
			return es
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// LoadError loads cfg, a whole JSON config, under the harness lock and
// returns why it did not load; a config that loads is stopped at once.
func LoadError(cfg []byte) error {
	caddyMu.Lock()
	defer caddyMu.Unlock()
	err := caddy.Load(cfg, true)
	if err == nil {
		_ = caddy.Stop()
	}
	return err
}
