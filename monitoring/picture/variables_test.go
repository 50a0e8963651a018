package main

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// Each variable gets its own value, whatever its spelling, and a name is
// read whole: $__interval is no prefix of $__rate_interval, nor $__range
// of $__range_s.
func TestFillVariables(t *testing.T) {
	vars := map[string]string{"server": "a|b", "error_budget": "0.01"}
	maps.Copy(vars, builtins(4*time.Minute+500*time.Millisecond, 5*time.Second, 30*time.Second))
	for in, want := range map[string]string{
		`rate(x{server=~"$server"}[$__rate_interval])`: `rate(x{server=~"a|b"}[30s])`,
		`rate(x{server=~"${server}"}[$__interval])`:    `rate(x{server=~"a|b"}[5s])`,
		`increase(x[$__range]) / $__range_s`:           `increase(x[4m1s]) / 241`,
		`vector($error_budget) * ${error_budget:raw}`:  `vector(0.01) * 0.01`,
		`x{path=~"/api$"}`:                             `x{path=~"/api$"}`,
		`$__interval_ms + $__range_ms`:                 `5000 + 241000`,
	} {
		got, err := fillVariables(in, vars)
		if err != nil || got != want {
			t.Errorf("fillVariables(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := fillVariables(`rate(x[$__rate_intreval])`, vars); err == nil {
		t.Error("a misspelt variable was left in the query")
	}
}

// $__range covers the span past its start, as a range selector leaves
// its first instant out.
func TestRangeCoversSpan(t *testing.T) {
	for _, span := range []time.Duration{4 * time.Minute, 4*time.Minute + 999*time.Millisecond, 10 * time.Second} {
		d, err := time.ParseDuration(builtins(span, time.Second, time.Second)["__range"])
		if err != nil {
			t.Fatal(err)
		}
		if d <= span || d > span+time.Second || d%time.Second != 0 {
			t.Errorf("span %s: $__range = %s, want the next whole second past it", span, d)
		}
	}
}

// Every query of the repository's dashboard is left without a variable
// and parses as PromQL.
func TestDashboardQueriesFilled(t *testing.T) {
	d, err := readDashboard(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	vars := maps.Clone(d.Vars)
	maps.Copy(vars, builtins(4*time.Minute, 5*time.Second, 30*time.Second))
	n := 0
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			n++
			q, err := fillVariables(tg.Expr, vars)
			if err != nil {
				t.Errorf("%s: %v", p.Title, err)
				continue
			}
			if strings.Contains(q, "$") {
				t.Errorf("%s: %q keeps a $", p.Title, q)
			}
			if _, err := parser.NewParser(parser.Options{}).ParseExpr(q); err != nil {
				t.Errorf("%s: %q: %v", p.Title, q, err)
			}
		}
	}
	if n < 8 {
		t.Errorf("%d queries; the dashboard has 8", n)
	}
}
