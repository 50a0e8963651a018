package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// Paths of the site, each proxied to one upstream.
const (
	pathHealthy = "/api/items"
	pathRefused = "/legacy/orders"
	pathStalled = "/reports/daily"
	pathFailing = "/billing/invoices"
)

// headerTimeout is how long Caddy waits for the stalled upstream's
// response head before answering 504.
const headerTimeout = time.Second

// caddyConfig is a JSON config: the admin API at admin, Caddy's HTTP
// metrics, and one server on port whose route runs upstream_errors, with
// per-upstream metrics and a maintenance flag file, before
// reverse_proxy to each upstream by path.
func caddyConfig(admin string, port int, flag string, u *upstreams) ([]byte, error) {
	proxy := func(path, dial string, transport map[string]any) map[string]any {
		h := map[string]any{"handler": "reverse_proxy", "upstreams": []any{map[string]any{"dial": dial}}}
		if transport != nil {
			h["transport"] = transport
		}
		return map[string]any{"match": []any{map[string]any{"path": []string{path}}}, "handle": []any{h}}
	}
	cfg := map[string]any{
		"admin": map[string]any{"listen": admin, "config": map[string]any{"persist": false}},
		"apps": map[string]any{"http": map[string]any{
			"metrics": map[string]any{},
			"servers": map[string]any{"srv0": map[string]any{
				"listen":          []string{fmt.Sprintf("127.0.0.1:%d", port)},
				"automatic_https": map[string]any{"disable": true},
				"routes": []any{map[string]any{"handle": []any{
					map[string]any{"handler": "upstream_errors", "metrics": map[string]any{"per_upstream": true}, "maintenance": map[string]any{"file": flag}},
					map[string]any{"handler": "subroute", "routes": []any{
						proxy(pathHealthy, u.Healthy, nil),
						proxy(pathRefused, u.Refused, nil),
						proxy(pathStalled, u.Stalled, map[string]any{"protocol": "http", "response_header_timeout": headerTimeout.String()}),
						proxy(pathFailing, u.Failing, nil),
					}},
				}}},
			}},
		}},
	}
	return json.MarshalIndent(cfg, "", "\t")
}

// caddyProcess is a running Caddy.
type caddyProcess struct {
	cmd *exec.Cmd
	// done closes when Caddy has exited, with err its exit.
	done    chan struct{}
	err     error
	stopped sync.Once
	// Log is where its output goes.
	Log string
}

// startCaddy runs binary with cfg, its home and data under dir, and waits
// until the admin API at admin and the site at site answer.
func startCaddy(ctx context.Context, binary, dir string, cfg []byte, admin, site string) (*caddyProcess, error) {
	path := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(path, cfg, 0o600); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "caddy.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(binary, "run", "--config", path) //nolint:gosec // the Caddy binary the operator names
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir, "XDG_CACHE_HOME="+dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &caddyProcess{cmd: cmd, done: make(chan struct{}), Log: logf.Name()}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for _, url := range []string{"http://" + admin + "/metrics", site + pathHealthy} {
		for {
			if err := get(ctx, url); err == nil {
				break
			} else if time.Now().After(deadline) {
				c.stop()
				return nil, fmt.Errorf("caddy did not start (see %s): %w", c.Log, err)
			}
			select {
			case <-c.done:
				return nil, fmt.Errorf("caddy exited (see %s): %v", c.Log, c.err)
			case <-ctx.Done():
				c.stop()
				return nil, ctx.Err()
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
	return c, nil
}

// get fails unless url answers 200.
func get(ctx context.Context, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, res.Status)
	}
	return nil
}

// stop ends Caddy as Ctrl-C would, killing it if it takes long; once.
func (c *caddyProcess) stop() {
	c.stopped.Do(func() {
		if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
			_ = c.cmd.Process.Kill()
		}
		select {
		case <-c.done:
		case <-time.After(10 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	})
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
