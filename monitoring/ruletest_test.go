package monitoring

import (
	"context"
	"log/slog"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/rules"
	"github.com/prometheus/prometheus/storage"
	"github.com/prometheus/prometheus/tsdb/chunkenc"
	"github.com/prometheus/prometheus/tsdb/chunks"
	"github.com/prometheus/prometheus/util/annotations"
	"go.yaml.in/yaml/v3"
)

// ruleTest runs promtool's rule unit test format with Prometheus' own
// rule evaluation: its PromQL engine and its recording and alerting rules,
// which carry the `for`, label and annotation semantics, over an
// in-memory store, every group's rules in order at each evaluation, as
// promtool does, with the groups in either order. promtool itself takes
// in every service discovery of Prometheus and builds for many minutes;
// the same file runs with it too (`go tool promtool test rules
// prometheus/rules_test.yml`).
func ruleTest(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var file unitTestFile
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&file); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(file.Tests) == 0 || len(file.RuleFiles) == 0 {
		t.Fatalf("%s: no tests or no rule files", path)
	}
	every := time.Duration(file.EvaluationInterval)
	if every == 0 {
		every = time.Minute
	}
	// promtool evaluates the groups in no set order (a map's) unless a
	// test names one, and Prometheus runs each group on its own schedule:
	// alerts may read what the recording rules stored one evaluation
	// before. Each test runs with the groups in the file's order and in
	// the reverse one.
	orders := []struct {
		name    string
		reverse bool
	}{{"file order", false}, {"reverse order", true}}
	for _, tc := range file.Tests {
		for _, order := range orders {
			t.Run(tc.Name+"/"+order.name, func(t *testing.T) {
				t.Parallel()
				evalTest(t, path, file.RuleFiles, every, tc, order.reverse)
			})
		}
	}
}

// evalTest runs one test of a unit test file, evaluating the groups of
// ruleFiles (relative to path) every interval, in reverse order if set.
func evalTest(t *testing.T, path string, ruleFiles []string, every time.Duration, tc unitTest, reverse bool) {
	t.Helper()
	groups := make([][]rules.Rule, 0, len(ruleFiles))
	for _, rf := range ruleFiles {
		groups = append(groups, loadRules(t, filepath.Join(filepath.Dir(path), rf))...)
	}
	if reverse {
		slices.Reverse(groups)
	}
	store := &memStore{series: map[string]labels.Labels{}, points: map[string][]chunks.Sample{}}
	interval := time.Duration(tc.Interval)
	if interval == 0 {
		interval = time.Minute
	}
	for _, in := range tc.InputSeries {
		lset, vals, err := pql.ParseSeriesDesc(in.Series + " " + in.Values)
		if err != nil {
			t.Fatalf("series %s: %v", in.Series, err)
		}
		for i, v := range vals {
			if !v.Omitted {
				store.add(lset, time.Duration(i)*interval, v.Value)
			}
		}
	}

	checks := map[time.Duration][]int{}
	var end time.Duration
	for i, c := range tc.AlertRuleTests {
		at := time.Duration(c.EvalTime)
		if at%every != 0 {
			t.Fatalf("eval_time %s is not a multiple of evaluation_interval %s", at, every)
		}
		checks[at] = append(checks[at], i)
		end = max(end, at)
	}

	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 1e7, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	query := rules.EngineQueryFunc(engine, store.queryable())
	recorded := map[rules.Rule]map[string]labels.Labels{}
	for at := time.Duration(0); at <= end; at += every {
		ts := time.Unix(0, 0).UTC().Add(at)
		for _, g := range groups {
			for _, r := range g {
				vec, err := r.Eval(context.Background(), 0, ts, query, nil, 0)
				if err != nil {
					t.Fatalf("%s at %s: %v", r.Name(), at, err)
				}
				if _, ok := r.(*rules.RecordingRule); ok {
					recorded[r] = store.record(vec, recorded[r], at)
				}
			}
		}
		for _, i := range checks[at] {
			c := tc.AlertRuleTests[i]
			want := make([]string, 0, len(c.ExpAlerts))
			for _, e := range c.ExpAlerts {
				l := maps.Clone(e.ExpLabels)
				if l == nil {
					l = map[string]string{}
				}
				l["alertname"] = c.Alertname
				want = append(want, alertString(labels.FromMap(l), labels.FromMap(e.ExpAnnotations)))
			}
			var got []string
			for _, g := range groups {
				for _, r := range g {
					ar, ok := r.(*rules.AlertingRule)
					if !ok || ar.Name() != c.Alertname {
						continue
					}
					for _, a := range ar.ActiveAlerts() {
						if a.State == rules.StateFiring {
							got = append(got, alertString(a.Labels, a.Annotations))
						}
					}
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s at %s:\n got: %s\nwant: %s", c.Alertname, at, strings.Join(got, "\n      "), strings.Join(want, "\n      "))
			}
		}
	}
}

func alertString(l, a labels.Labels) string {
	return l.String() + " " + a.String()
}

// loadRules reads a rule file into one list of rules per group.
func loadRules(t *testing.T, path string) [][]rules.Rule {
	t.Helper()
	logger := slog.New(slog.DiscardHandler)
	rgs, errs := rulefmt.ParseFile(path, false, model.UTF8Validation, pql, logger)
	for _, err := range errs {
		t.Fatal(err)
	}
	out := make([][]rules.Rule, 0, len(rgs.Groups))
	for _, g := range rgs.Groups {
		var rs []rules.Rule
		for _, r := range g.Rules {
			expr, err := pql.ParseExpr(r.Expr)
			if err != nil {
				t.Fatalf("%s%s: %v", r.Record, r.Alert, err)
			}
			if r.Record != "" {
				rs = append(rs, rules.NewRecordingRule(r.Record, expr, labels.FromMap(r.Labels)))
				continue
			}
			rs = append(rs, rules.NewAlertingRule(r.Alert, expr, time.Duration(r.For), time.Duration(r.KeepFiringFor),
				labels.FromMap(r.Labels), labels.FromMap(r.Annotations), labels.EmptyLabels(), "", true, logger))
		}
		out = append(out, rs)
	}
	return out
}

// unitTestFile is the part of promtool's format that rules_test.yml
// uses; an unknown field fails the test rather than being skipped.
type unitTestFile struct {
	RuleFiles          []string       `yaml:"rule_files"`
	EvaluationInterval model.Duration `yaml:"evaluation_interval"`
	Tests              []unitTest     `yaml:"tests"`
}

// unitTest is one test of the file.
type unitTest struct {
	Name        string         `yaml:"name"`
	Interval    model.Duration `yaml:"interval"`
	InputSeries []struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	} `yaml:"input_series"`
	AlertRuleTests []struct {
		EvalTime  model.Duration `yaml:"eval_time"`
		Alertname string         `yaml:"alertname"`
		ExpAlerts []struct {
			ExpLabels      map[string]string `yaml:"exp_labels"`
			ExpAnnotations map[string]string `yaml:"exp_annotations"`
		} `yaml:"exp_alerts"`
	} `yaml:"alert_rule_test"`
}

// memStore holds float series in memory for the engine.
type memStore struct {
	series map[string]labels.Labels
	points map[string][]chunks.Sample
}

// add appends a sample at offset at; a series' samples come in order.
func (m *memStore) add(lset labels.Labels, at time.Duration, f float64) {
	k := lset.String()
	m.series[k] = lset
	m.points[k] = append(m.points[k], sample{at.Milliseconds(), f})
}

// record stores a recording rule's result, and a stale marker for each
// series it had last time and no longer has, as Prometheus does.
func (m *memStore) record(vec promql.Vector, prev map[string]labels.Labels, at time.Duration) map[string]labels.Labels {
	now := make(map[string]labels.Labels, len(vec))
	for _, s := range vec {
		m.add(s.Metric, at, s.F)
		now[s.Metric.String()] = s.Metric
	}
	for k, lset := range prev {
		if _, ok := now[k]; !ok {
			m.add(lset, at, math.Float64frombits(value.StaleNaN))
		}
	}
	return now
}

func (m *memStore) queryable() storage.Queryable {
	return &storage.MockQueryable{MockQuerier: &storage.MockQuerier{
		SelectMockFunction: func(_ bool, _ *storage.SelectHints, ms ...*labels.Matcher) storage.SeriesSet {
			set := &listSet{i: -1}
			for _, k := range slices.Sorted(maps.Keys(m.series)) {
				if lset := m.series[k]; matchAll(lset, ms) {
					set.series = append(set.series, storage.NewListSeries(lset, slices.Clone(m.points[k])))
				}
			}
			slices.SortFunc(set.series, func(a, b storage.Series) int { return labels.Compare(a.Labels(), b.Labels()) })
			return set
		},
	}}
}

func matchAll(lset labels.Labels, ms []*labels.Matcher) bool {
	for _, m := range ms {
		if !m.Matches(lset.Get(m.Name)) {
			return false
		}
	}
	return true
}

// sample is one float sample.
type sample struct {
	t int64
	f float64
}

func (s sample) T() int64                    { return s.t }
func (sample) ST() int64                     { return 0 }
func (s sample) F() float64                  { return s.f }
func (sample) H() *histogram.Histogram       { return nil }
func (sample) FH() *histogram.FloatHistogram { return nil }
func (sample) Type() chunkenc.ValueType      { return chunkenc.ValFloat }
func (s sample) Copy() chunks.Sample         { return s }

// listSet is a storage.SeriesSet over a slice.
type listSet struct {
	series []storage.Series
	i      int
}

func (s *listSet) Next() bool                      { s.i++; return s.i < len(s.series) }
func (s *listSet) At() storage.Series              { return s.series[s.i] }
func (*listSet) Err() error                        { return nil }
func (*listSet) Warnings() annotations.Annotations { return nil }
