package caddyupstreamerrors_test

import (
	"context"
	"encoding/json"
	"fmt"
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
