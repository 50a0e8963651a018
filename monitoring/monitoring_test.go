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
	f, err := os.Open(path) //nolint:gosec // G703: the file TestMonitoringPack wrote for this run
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

// LabelValuesEnv names a JSON file of the values each metric's labels
// can have, {"metric": {"label": ["value", ...]}}: those the scrape
// showed, and for the module's own metrics every cause, status and class
// it can count. TestMonitoringPack writes it with MetricsEnv's file.
const LabelValuesEnv = "CADDY_UPSTREAM_ERRORS_LABEL_VALUES"

// labelValueSets maps a metric to its labels' possible values.
type labelValueSets map[string]map[string][]string

// exportedValues reads the file LabelValuesEnv names.
func exportedValues(t *testing.T) labelValueSets {
	t.Helper()
	path := os.Getenv(LabelValuesEnv)
	if path == "" {
		t.Skipf("%s is not set: run `go test ./...` at the repository root, which writes it from a real Caddy's metrics and the cause table", LabelValuesEnv)
	}
	data, err := os.ReadFile(path) //nolint:gosec // G703: the file TestMonitoringPack wrote for this run
	if err != nil {
		t.Fatal(err)
	}
	var out labelValueSets
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(out) == 0 {
		t.Fatalf("%s lists no metric", path)
	}
	return out
}

// matchedValues returns the values a matcher compares its label to: its
// value for = and !=, and for =~ and !~ each alternative of a regular
// expression that is only literals joined by |; none for one that can
// match more (.*, 5..) or for "", which matches a missing label.
func matchedValues(m *labels.Matcher) []string {
	if m.Value == "" {
		return nil
	}
	switch m.Type {
	case labels.MatchEqual, labels.MatchNotEqual:
		return []string{m.Value}
	case labels.MatchRegexp, labels.MatchNotRegexp:
	}
	alts := strings.Split(m.Value, "|")
	for _, a := range alts {
		if a == "" || regexp.QuoteMeta(a) != a {
			return nil
		}
	}
	return alts
}

// checkValues fails for a matcher that compares a label with a value no
// series of its metric can have, such as a misspelt cause: the query runs
// and stays empty, or its != keeps everything. A recorded series has
// the values of the series its rule reads (recorded).
func checkValues(t *testing.T, what string, expr parser.Expr, values labelValueSets, recorded map[string][]string) {
	t.Helper()
	parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		sources := []string{vs.Name}
		if from, ok := recorded[vs.Name]; ok {
			sources = from
		}
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel {
				continue
			}
			for _, v := range matchedValues(m) {
				known := false
				for _, src := range sources {
					known = known || slices.Contains(values[src][m.Name], v)
				}
				if !known {
					does := "matches no series"
					if m.Type == labels.MatchNotEqual || m.Type == labels.MatchNotRegexp {
						does = "excludes no series"
					}
					t.Errorf("%s: %s: %s %s %q %s: %v have %s values %q", what, vs, m.Name, m.Type, v, does, sources, m.Name, valuesOf(values, sources, m.Name))
				}
			}
		}
		return nil
	})
}

// valuesOf lists the values label has in the metrics named, for a message.
func valuesOf(values labelValueSets, metrics []string, label string) []string {
	var out []string
	for _, m := range metrics {
		for _, v := range values[m][label] {
			if !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
	}
	slices.Sort(out)
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
// filled in, and reads only metrics and labels a real Caddy exports, and
// label values they can have.
func TestDashboardQueries(t *testing.T) {
	dashboards, _ := filepath.Glob("grafana/*.json")
	if len(dashboards) == 0 {
		t.Fatal("no dashboard in grafana/")
	}
	metrics := exported(t)
	values := exportedValues(t)
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
			checkValues(t, path, expr, values, nil)
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
			checkValues(t, path, expr, values, nil)
			if l := metrics[expr.(*parser.VectorSelector).Name]; !slices.Contains(l, m[2]) {
				t.Errorf("%s: variable %s: label %s not exported", path, name, m[2])
			}
		}
	}
}

// Every rule expression reads exported metrics, or series the rules
// record themselves, and label values they can have.
func TestRuleNames(t *testing.T) {
	metrics := exported(t)
	values := exportedValues(t)
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
	// a recorded series has the labels of the series its rule reads
	sources := map[string][]string{}
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			expr, err := pql.ParseExpr(r.Expr)
			if err != nil {
				t.Errorf("%s%s: %v", r.Record, r.Alert, err)
				continue
			}
			what := fmt.Sprintf("rule %s%s", r.Record, r.Alert)
			checkNames(t, what, expr, metrics, recorded)
			checkValues(t, what, expr, values, sources)
			if r.Record != "" {
				names, _ := selectors(t, expr)
				for _, n := range names {
					if from, ok := sources[n]; ok {
						sources[r.Record] = append(sources[r.Record], from...)
					} else {
						sources[r.Record] = append(sources[r.Record], n)
					}
				}
			}
		}
	}
}

// The rules load and pass their unit tests (prometheus/rules_test.yml,
// promtool's format), evaluated by Prometheus' own rule code.
func TestRules(t *testing.T) {
	t.Parallel()
	ruleTest(t, "prometheus/rules_test.yml")
}
