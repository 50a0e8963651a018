package adminapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/adminapi"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/recent"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// In a Caddy built as xcaddy builds it (cmd/caddy), run as its own
// process, the endpoint is on the admin API and lists a failure.
func TestRecentInCaddyProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs Caddy")
	}
	bin := testcaddy.Binary(t)
	admin := fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t))
	port := testcaddy.FreePort(t)
	dead := testcaddy.ClosedPort(t)
	dir := t.TempDir()
	cf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cf, fmt.Appendf(nil, `{
	admin %s
	auto_https off
	persist_config off
}
http://127.0.0.1:%d {
	bind 127.0.0.1
	upstream_errors {
		metrics per_upstream
	}
	reverse_proxy %s
}
`, admin, port, dead), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "run", "--config", cf, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
	})

	url := fmt.Sprintf("http://127.0.0.1:%d/orders?key=s3cret", port)
	deadline := time.Now().Add(30 * time.Second)
	var res *http.Response
	for {
		var err error
		if res, err = http.Get(url); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Caddy did not start: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.Body.Close()
	if res.StatusCode != 502 {
		t.Fatalf("status %d, want 502", res.StatusCode)
	}

	res, err := http.Get("http://" + admin + adminapi.RecentPath)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var list []recent.Failure
	if err := json.NewDecoder(res.Body).Decode(&list); err != nil {
		t.Fatalf("status %d: %v", res.StatusCode, err)
	}
	if len(list) != 1 || list[0].Cause != "connection_refused" || list[0].Upstream != dead || list[0].Path != "/orders" {
		t.Errorf("recent failures %+v, want the one refused /orders to %s", list, dead)
	}
}
