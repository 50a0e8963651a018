package caddyupstreamerrors_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"go/version"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/taxonomy"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// The monitoring pack (monitoring/, a Go module of its own so Prometheus'
// packages stay out of this one) is checked against what a real Caddy
// exports: Caddy runs with the module's metrics, per-upstream ones and
// maintenance included, answers a failure and a success, and the metric
// and label names of its /metrics, and the values its labels can have,
// are handed to the pack's tests, which parse every dashboard query and
// rule and run the rules' promtool unit tests.
func TestMonitoringPack(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the monitoring module's tests, which build promtool")
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	required := checkToolchain(t)
	ok := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("fine")) }))
	// a Caddy process of its own, built as xcaddy builds it: the metrics
	// are process-wide, and this process's other tests count theirs
	admin := fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t))
	port := testcaddy.FreePort(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `{
	"admin": {"listen": %q, "config": {"persist": false}},
	"apps": {"http": {"metrics": {}, "servers": {"srv0": {"listen": ["127.0.0.1:%d"], "routes": [
		{"handle": [
			{"handler": "upstream_errors", "metrics": {"per_upstream": true}, "maintenance": {"file": %q}},
			{"handler": "subroute", "routes": [
				{"match": [{"path": ["/ok"]}], "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": %q}]}]},
				{"handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": %q}]}]}
			]}
		]}
	]}}}}
}`, admin, port, filepath.Join(dir, "maintenance"), ok, testcaddy.ClosedPort(t)), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	caddy := exec.CommandContext(ctx, testcaddy.Binary(t), "run", "--config", cfg)
	caddy.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	if err := caddy.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = caddy.Wait()
	})
	deadline := time.Now().Add(30 * time.Second)
	for _, path := range []string{"/ok", "/"} {
		for {
			res, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d%s", port, path))
			if err == nil {
				res.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("Caddy did not start: %v", err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}

	res, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	var list strings.Builder
	for name, mf := range families {
		var labels []string
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if !slices.Contains(labels, l.GetName()) {
					labels = append(labels, l.GetName())
				}
			}
		}
		fmt.Fprintln(&list, name, strings.Join(labels, " "))
	}
	for _, want := range []string{"caddy_http_requests_total", "caddy_http_upstream_errors_total", "caddy_http_upstream_errors_by_upstream_total"} {
		if families[want] == nil {
			t.Fatalf("Caddy does not export %s", want)
		}
	}
	names := filepath.Join(t.TempDir(), "metrics.txt")
	if err := os.WriteFile(names, []byte(list.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	values, err := json.Marshal(labelValues(families))
	if err != nil {
		t.Fatal(err)
	}
	valuesFile := filepath.Join(t.TempDir(), "label-values.json")
	if err := os.WriteFile(valuesFile, values, 0o600); err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command("go", "test", "-count=1", "./...")
	cmd.Dir = "monitoring"
	cmd.Env = append(os.Environ(), "CADDY_UPSTREAM_ERRORS_METRICS="+names, "CADDY_UPSTREAM_ERRORS_LABEL_VALUES="+valuesFile)
	out, err := cmd.CombinedOutput()
	if err != nil {
		if bytes.Contains(out, []byte("requires go >=")) {
			t.Fatalf("%s\n%s", toolchainAdvice(required, goEnv(t, "GOVERSION"), goEnv(t, "GOTOOLCHAIN")), out)
		}
		t.Fatalf("monitoring tests: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

// labelValues are the values each metric's labels can have, for the
// monitoring tests to check the values queries compare labels with:
// those scraped, and for the module's metrics every cause, status and
// class it counts, from the cause table.
func labelValues(families map[string]*dto.MetricFamily) map[string]map[string][]string {
	out := map[string]map[string][]string{}
	add := func(metric, label string, vs ...string) {
		if out[metric] == nil {
			out[metric] = map[string][]string{}
		}
		for _, v := range vs {
			if !slices.Contains(out[metric][label], v) {
				out[metric][label] = append(out[metric][label], v)
			}
		}
	}
	for name, mf := range families {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				add(name, l.GetName(), l.GetValue())
			}
		}
	}
	var statuses []string
	for s := 400; s <= 599; s++ {
		statuses = append(statuses, strconv.Itoa(s))
	}
	for _, c := range taxonomy.Table {
		if c.Class == taxonomy.Client {
			add("caddy_http_upstream_errors_client_total", "cause", c.Name)
			continue
		}
		add("caddy_http_upstream_errors_total", "cause", c.Name)
		add("caddy_http_upstream_errors_by_upstream_total", "cause", c.Name)
	}
	add("caddy_http_upstream_errors_total", "status", statuses...)
	add("caddy_http_upstream_errors_total", "class", "4xx", "5xx")
	add("caddy_http_upstream_errors_by_upstream_total", "status", statuses...)
	return out
}

// checkToolchain fails at once, saying what to do, when the go command
// cannot build monitoring/, whose go.mod requires a newer Go than the
// Caddy module does (its Prometheus packages' minimum), and GOTOOLCHAIN
// keeps it from fetching one. It returns the version required.
func checkToolchain(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile("monitoring/go.mod")
	if err != nil {
		t.Fatal(err)
	}
	required := ""
	for line := range strings.Lines(string(data)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			required = v
		}
	}
	if required == "" {
		t.Fatal("monitoring/go.mod states no go version")
	}
	local, toolchain := goEnv(t, "GOVERSION"), goEnv(t, "GOTOOLCHAIN")
	if toolchainBlocks(local, toolchain, required) {
		t.Fatal(toolchainAdvice(required, local, toolchain))
	}
	return required
}

// toolchainBlocks reports whether go of version local, under GOTOOLCHAIN
// toolchain, refuses a module that requires go >= required: it is older
// and may not switch (local, or a named toolchain without +auto or
// +path).
func toolchainBlocks(local, toolchain, required string) bool {
	if !version.IsValid(local) || version.Compare(local, "go"+required) >= 0 {
		return false // a development build is left to go itself
	}
	return !strings.HasSuffix(toolchain, "auto") && !strings.HasSuffix(toolchain, "path")
}

// toolchainAdvice says why monitoring/ cannot be tested and what to do.
func toolchainAdvice(required, local, toolchain string) string {
	return fmt.Sprintf("monitoring/go.mod requires go >= %s (the minimum of the Prometheus packages its tests use), "+
		"and the go command is %s with GOTOOLCHAIN=%s, which does not switch: install Go %s or newer, "+
		"or run with GOTOOLCHAIN=auto so that go fetches it", required, local, toolchain, required)
}

// goEnv returns one value of `go env`.
func goEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatalf("go env %s: %v", name, err)
	}
	return strings.TrimSpace(string(out))
}

// The toolchain check fails exactly when go would refuse monitoring/.
func TestToolchainBlocks(t *testing.T) {
	for _, tc := range []struct {
		local, toolchain string
		blocks           bool
	}{
		{"go1.26.6", "local", true},
		{"go1.26.0", "local", true},
		{"go1.26.6", "go1.26.6", true},
		{"go1.26.7", "local", false},
		{"go1.26.8", "local", false},
		{"go1.27.0", "local", false},
		{"go1.26.6", "auto", false},
		{"go1.26.6", "local+auto", false},
		{"go1.26.6", "go1.26.6+auto", false},
		{"go1.26.6", "path", false},
		{"devel go1.27-abcdef", "local", false},
	} {
		if got := toolchainBlocks(tc.local, tc.toolchain, "1.26.7"); got != tc.blocks {
			t.Errorf("go %s, GOTOOLCHAIN=%s: blocks %v, want %v", tc.local, tc.toolchain, got, tc.blocks)
		}
	}
}
