// Package monitoring checks the Prometheus rules and the Grafana
// dashboard: the rules load and their promtool unit tests pass, and every
// dashboard query is PromQL over metrics and labels Caddy and the module
// export. It is a module of its own so that Prometheus' packages never
// become dependencies of the Caddy module.
package monitoring

import (
	"bufio"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
)

// pql parses as Prometheus does by default.
var pql = parser.NewParser(parser.Options{})

// MetricsEnv names a file listing the metrics a real Caddy with the
// module exported, one per line: the name, then its label names. The
// Caddy module's TestMonitoringPack scrapes them and runs these tests.
const MetricsEnv = "CADDY_UPSTREAM_ERRORS_METRICS"

// exported reads the file MetricsEnv names.
func exported(t *testing.T) map[string][]string {
	t.Helper()
	path := os.Getenv(MetricsEnv)
	if path == "" {
		t.Skipf("%s is not set: run `go test ./...` at the repository root, which scrapes a real Caddy for it", MetricsEnv)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := make(map[string][]string)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) > 0 {
			out[fields[0]] = fields[1:]
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s lists no metric", path)
	}
	return out
}

// grafanaVars are values for the dashboard's variables, so its queries
// parse as Grafana sends them.
var grafanaVars = strings.NewReplacer(
	"$__rate_interval", "5m",
	"$__interval", "1m",
	"$__range", "6h",
	"${server}", ".*",
	"$server", ".*",
	"$error_budget", "0.001",
)

// labelValues matches Grafana's label_values(<selector>, <label>)
// variable query, which is not PromQL.
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)

// dashboardQueries returns every query of the dashboard at path: panel
// targets' expr and the variables' label_values queries, each as PromQL
// with the label it reads (for label_values).
func dashboardQueries(t *testing.T, path string) (exprs []string, varQueries map[string]string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if e, ok := v["expr"].(string); ok {
				exprs = append(exprs, e)
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	for _, p := range dash.Panels {
		var v any
		if err := json.Unmarshal(p, &v); err != nil {
			t.Fatal(err)
		}
		walk(v)
	}
	varQueries = make(map[string]string)
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		varQueries[v.Name] = q
	}
	return exprs, varQueries
}

// selectors returns each metric name expr selects, with the label names
// it matches on or groups by.
func selectors(t *testing.T, expr parser.Expr) (names []string, labels []string) {
	t.Helper()
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		switch n := n.(type) {
		case *parser.VectorSelector:
			if n.Name == "" {
				t.Errorf("selector %s has no metric name", n)
			}
			names = append(names, n.Name)
			for _, m := range n.LabelMatchers {
				if m.Name != "__name__" {
					labels = append(labels, m.Name)
				}
			}
		case *parser.AggregateExpr:
			labels = append(labels, n.Grouping...)
		}
		return nil
	})
	return names, labels
}

// checkNames fails for a metric or label the scrape did not show. Only
// labels of the metrics an expression selects count: the labels an
// aggregation keeps are a subset.
func checkNames(t *testing.T, what string, expr parser.Expr, metrics map[string][]string, extra map[string]bool) {
	t.Helper()
	names, labels := selectors(t, expr)
	var known []string
	for _, n := range names {
		switch l, ok := metrics[n]; {
		case ok:
			known = append(known, l...)
		case extra[n]:
			known = append(known, "server", "cause")
		default:
			t.Errorf("%s: metric %s is not exported by Caddy or the module", what, n)
		}
	}
	for _, l := range labels {
		if !slices.Contains(known, l) {
			t.Errorf("%s: label %s is on none of %v", what, l, names)
		}
	}
}

// Every dashboard query parses as PromQL once Grafana's variables are
// filled in, and reads only metrics and labels a real Caddy exports.
func TestDashboardQueries(t *testing.T) {
	dashboards, _ := filepath.Glob("grafana/*.json")
	if len(dashboards) == 0 {
		t.Fatal("no dashboard in grafana/")
	}
	metrics := exported(t)
	for _, path := range dashboards {
		exprs, vars := dashboardQueries(t, path)
		if len(exprs) < 7 {
			t.Errorf("%s: %d queries; the panels are missing", path, len(exprs))
		}
		for _, e := range exprs {
			expr, err := pql.ParseExpr(grafanaVars.Replace(e))
			if err != nil {
				t.Errorf("%s: %q: %v", path, e, err)
				continue
			}
			checkNames(t, path, expr, metrics, nil)
			if !strings.Contains(e, `server=~"$server"`) && !strings.HasPrefix(e, "vector(") {
				t.Errorf("%s: %q ignores the server variable", path, e)
			}
		}
		if _, ok := vars["server"]; !ok {
			t.Errorf("%s: no server variable", path)
		}
		for name, q := range vars {
			m := labelValues.FindStringSubmatch(q)
			if m == nil {
				t.Errorf("%s: variable %s: %q is not label_values(<metric>, <label>)", path, name, q)
				continue
			}
			expr, err := pql.ParseExpr(m[1])
			if err != nil {
				t.Errorf("%s: variable %s: %v", path, name, err)
				continue
			}
			checkNames(t, path, expr, metrics, nil)
			if l := metrics[expr.(*parser.VectorSelector).Name]; !slices.Contains(l, m[2]) {
				t.Errorf("%s: variable %s: label %s not exported", path, name, m[2])
			}
		}
	}
}

// Every rule expression reads exported metrics, or series the rules
// record themselves.
func TestRuleNames(t *testing.T) {
	metrics := exported(t)
	groups, errs := rulefmt.ParseFile("prometheus/rules.yml", false, model.UTF8Validation, pql, slog.New(slog.DiscardHandler))
	for _, err := range errs {
		t.Fatal(err)
	}
	recorded := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	// promtool check rules refuses two rules of one name and the same
	// static labels
	seen := map[string]bool{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			key := r.Record + r.Alert + " " + labels.FromMap(r.Labels).String()
			if seen[key] {
				t.Errorf("duplicate rule %s", key)
			}
			seen[key] = true
		}
	}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			expr, err := pql.ParseExpr(r.Expr)
			if err != nil {
				t.Errorf("%s%s: %v", r.Record, r.Alert, err)
				continue
			}
			checkNames(t, fmt.Sprintf("rule %s%s", r.Record, r.Alert), expr, metrics, recorded)
		}
	}
}

// The rules load and pass their unit tests (prometheus/rules_test.yml,
// promtool's format), evaluated by Prometheus' own rule code.
func TestRules(t *testing.T) {
	ruleTest(t, "prometheus/rules_test.yml")
}
