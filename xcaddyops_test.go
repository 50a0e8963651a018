package caddyupstreamerrors_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// operateBuilt runs the xcaddy-built binary as an operator does: a named
// maintenance window in its storage switched with `caddy upstream-errors
// maintenance`, the recent failures on its admin API and the per-upstream
// series on its /metrics. It proves the admin modules and the command are
// part of what `xcaddy build --with` makes, not only of cmd/caddy.
func operateBuilt(t *testing.T, dir, bin string) {
	ok := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "fine") }))
	dead := testcaddy.ClosedPort(t)
	admin := fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t))
	site := fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t))
	cfg := filepath.Join(dir, "operate.Caddyfile")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `{
	admin %s
	storage file_system %s
	persist_config off
	auto_https off
	metrics
}

http://%s {
	bind 127.0.0.1
	upstream_errors {
		metrics per_upstream
		recent 500
		maintenance {
			window shop
			bypass /dead
		}
	}
	handle /dead {
		reverse_proxy %s
	}
	reverse_proxy %s
}
`, admin, filepath.Join(dir, "storage"), site, dead, ok), 0o600); err != nil {
		t.Fatal(err)
	}
	runBuilt(t, dir, bin, cfg, site)
	status := func(path string) int {
		t.Helper()
		res, err := http.Get("http://" + site + path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	get := func(url string) string {
		t.Helper()
		res, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %s", url, res.StatusCode, b)
		}
		return string(b)
	}
	command := func(args ...string) string {
		t.Helper()
		out, err := run(t, dir, bin, append([]string{"upstream-errors", "maintenance"}, append(args, "--address", admin)...)...)
		if err != nil {
			t.Fatalf("caddy upstream-errors maintenance %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return out
	}
	until := func(want int, what string) {
		t.Helper()
		for deadline := time.Now().Add(3 * time.Second); status("/") != want; time.Sleep(50 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("not %s within 3s", what)
			}
		}
	}

	if s := status("/"); s != 200 {
		t.Fatalf("GET / before the window: %d, want the upstream's 200", s)
	}
	command("on", "shop", "--for", "10m")
	until(503, "in maintenance after `maintenance on`")
	var st struct {
		Window string `json:"window"`
		On     bool   `json:"on"`
	}
	if out := command("status", "shop"); json.Unmarshal([]byte(out), &st) != nil || !st.On || st.Window != "shop" {
		t.Errorf("status shop: %s, want the window on", out)
	}
	// the bypassed path reaches its upstream, whose failure is answered
	if s := status("/dead?token=secret"); s != 502 {
		t.Errorf("GET /dead during the window: %d, want the module's 502 for the refused upstream", s)
	}
	command("off", "shop")
	until(200, "serving after `maintenance off`")

	var recent []struct {
		Path     string `json:"path"`
		Cause    string `json:"cause"`
		Upstream string `json:"upstream"`
	}
	body := get("http://" + admin + "/upstream_errors/recent?cause=connection_refused")
	if err := json.Unmarshal([]byte(body), &recent); err != nil || len(recent) != 1 ||
		recent[0].Path != "/dead" || recent[0].Upstream != dead {
		t.Errorf("recent refused failures: %s (%v), want the one to %s at /dead, without its query", body, err, dead)
	}
	metrics := get("http://" + admin + "/metrics")
	want := fmt.Sprintf(`caddy_http_upstream_errors_by_upstream_total{cause="connection_refused",server="srv0",status="502",upstream=%q} 1`, dead)
	if !strings.Contains(metrics, want) {
		t.Errorf("/metrics lacks %s", want)
	}
}
