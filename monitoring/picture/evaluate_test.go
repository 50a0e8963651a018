package main

import (
	"math"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The failure ratio follows the synthetic site: 2 refused of 10
// requests/s while refused connections go on, 0 before and once the
// rate window has left them, at the right points of the grid.
func TestEvaluateFailureRatio(t *testing.T) {
	_, data, grid := evaluated(t)
	ratio := panelNamed(t, data, "Failure ratio")
	srv0 := seriesNamed(t, ratio, "srv0")
	in, out := 0, 0
	for i, v := range srv0.Values {
		at := grid.At(i).Sub(synthStart)
		switch {
		case math.IsNaN(v):
			// rate() needs two samples in its window: only the first point
			if i > 0 {
				t.Errorf("no ratio at %s", at)
			}
		case at >= refusedFrom+35*time.Second && at <= refusedUntil:
			// the whole rate window within the failures
			in++
			if math.Abs(v-synthRefused/synthRequests) > 1e-9 {
				t.Errorf("ratio at %s = %g, want %g", at, v, synthRefused/synthRequests)
			}
		case at < refusedFrom || at > refusedUntil+synthRate:
			out++
			if v != 0 {
				t.Errorf("ratio at %s = %g, want 0", at, v)
			}
		}
	}
	if in < 5 || out < 20 {
		t.Errorf("%d points during the failures, %d away from them: the grid does not cover the span", in, out)
	}

	// the dashboard's own constant, at every point
	budget := seriesNamed(t, ratio, "error budget (1 - SLO)")
	for i, v := range budget.Values {
		if v != 0.001 {
			t.Fatalf("error budget at %s = %g, want 0.001 throughout", grid.At(i).Sub(synthStart), v)
		}
	}
	// a server without failures is at 0, not missing
	odd := seriesNamed(t, ratio, oddServer)
	if slices.Max(slices.DeleteFunc(slices.Clone(odd.Values), math.IsNaN)) != 0 {
		t.Errorf("%s: %v", oddServer, odd.Values)
	}
}

// Each panel gets the series its query returns, named by its legend.
func TestEvaluatePanels(t *testing.T) {
	_, data, _ := evaluated(t)
	want := map[string][]string{
		"Failure ratio":      {oddServer, "srv0", "error budget (1 - SLO)"},
		"Failures by cause":  {"connection_refused", "http_response_timeout", "maintenance"},
		"Failures by status": {"502", "503", "504"},
		// the maintenance series has no upstream: Grafana writes nothing
		// for the label
		"Failures by upstream":         {"127.0.0.1:9 connection_refused", " maintenance"},
		"Maintenance periods":          nil,
		"Requests ended by the client": {"client_canceled", "client_disconnected"},
	}
	for title, legends := range want {
		pd := panelNamed(t, data, title)
		var got []string
		for _, s := range pd.Series {
			got = append(got, s.Legend)
		}
		if !slices.Equal(got, legends) {
			t.Errorf("%s: series %q, want %q", title, got, legends)
		}
	}
	maxOf := func(s series) float64 { return slices.Max(slices.DeleteFunc(slices.Clone(s.Values), math.IsNaN)) }
	if v := maxOf(seriesNamed(t, panelNamed(t, data, "Failures by cause"), "connection_refused")); math.Abs(v-synthRefused) > 1e-9 {
		t.Errorf("refused connections peak at %g/s, want %g/s", v, synthRefused)
	}
	if v := maxOf(seriesNamed(t, panelNamed(t, data, "Requests ended by the client"), "client_canceled")); math.Abs(v-1) > 1e-9 {
		t.Errorf("clients leaving peak at %g/s, want 1/s", v)
	}
}

// The table panel holds the instant result at the end of the span over
// the whole span, its Time column hidden and Value renamed as the
// dashboard's transformation says.
func TestEvaluateTable(t *testing.T) {
	_, data, _ := evaluated(t)
	top := panelNamed(t, data, "Top causes")
	if top.Table == nil {
		t.Fatal("Top causes has no table")
	}
	if want := []string{"cause", "server", "status", "failures"}; !slices.Equal(top.Table.Columns, want) {
		t.Errorf("columns %q, want %q", top.Table.Columns, want)
	}
	if len(top.Table.Rows) != 1 {
		t.Fatalf("rows %q, want the refused connections alone", top.Table.Rows)
	}
	row := top.Table.Rows[0]
	if !slices.Equal(row[:3], []string{"connection_refused", "srv0", "502"}) {
		t.Errorf("row %q", row)
	}
	// increase() extrapolates a little past the first and last sample
	total := synthRefused * (refusedUntil - refusedFrom).Seconds()
	if v, err := strconv.ParseFloat(row[3], 64); err != nil || v < total || v > total*1.05 {
		t.Errorf("failures %q, want about %g: $__range must cover the whole span", row[3], total)
	}
}

// Points of the grid sit between scrapes, and the grid ends at the last.
func TestScrapeGrid(t *testing.T) {
	first := time.Date(2026, 1, 1, 12, 0, 0, 123_456_789, time.UTC)
	g := scrapeGrid(first, first.Add(time.Minute), 5*time.Second)
	if g.N != 12 {
		t.Errorf("%d points over a minute of scrapes every 5s, want 12", g.N)
	}
	if d := g.Start.Sub(first); d < 2*time.Second || d > 3*time.Second {
		t.Errorf("first point %s after the first scrape, want halfway to the next", d)
	}
	if g.Start.Nanosecond()%int(time.Millisecond) != 0 {
		t.Errorf("start %s is finer than Prometheus' milliseconds", g.Start)
	}
	if g.End().After(first.Add(time.Minute)) {
		t.Errorf("last point %s is after the last scrape", g.End())
	}
}
