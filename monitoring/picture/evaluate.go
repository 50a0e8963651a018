package main

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"math"
	"slices"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
	"github.com/prometheus/prometheus/storage"
)

// timeGrid is the points of a range query: N of them, Step apart from
// Start.
type timeGrid struct {
	Start time.Time
	Step  time.Duration
	N     int
}

// gridOver returns the points from start to end, step apart, at the
// millisecond precision of Prometheus' timestamps.
func gridOver(start, end time.Time, step time.Duration) timeGrid {
	start = time.UnixMilli(start.UnixMilli())
	return timeGrid{Start: start, Step: step, N: int(end.Sub(start)/step) + 1}
}

// scrapeGrid returns the points of the span scraped from first to last,
// every apart, halfway between scrapes: each point reads the scrape
// before it, whichever way either is late by a millisecond.
func scrapeGrid(first, last time.Time, every time.Duration) timeGrid {
	return gridOver(first.Add(every/2), last, every)
}

// At returns the time of point i.
func (g timeGrid) At(i int) time.Time { return g.Start.Add(time.Duration(i) * g.Step) }

// End returns the time of the last point.
func (g timeGrid) End() time.Time { return g.At(g.N - 1) }

// series is one line of a panel: its legend and its value at each point
// of the grid, NaN where the query returned none.
type series struct {
	Legend string
	Values []float64
}

// table is a table panel's instant result, after the panel's
// transformations: its columns and each row's cells, as text.
type table struct {
	Columns []string
	Rows    [][]string
}

// panelData is a panel with the results of its queries.
type panelData struct {
	Panel  panel
	Series []series
	Table  *table
}

// evaluate runs every query of d with Prometheus' PromQL engine over q:
// time series panels as range queries over grid, instant queries at its
// end, with Grafana's variables filled in as Grafana would for that time
// range, $__rate_interval being rate.
func evaluate(ctx context.Context, q storage.Queryable, d *dashboard, grid timeGrid, rate time.Duration) ([]panelData, error) {
	vars := maps.Clone(d.Vars)
	maps.Copy(vars, builtins(grid.End().Sub(grid.Start), grid.Step, rate))
	engine := promql.NewEngine(promql.EngineOpts{MaxSamples: 50_000_000, Timeout: time.Minute, LookbackDelta: 5 * time.Minute})
	var out []panelData
	for _, p := range d.Panels {
		pd := panelData{Panel: p}
		for _, t := range p.Targets {
			expr, err := fillVariables(t.Expr, vars)
			if err != nil {
				return nil, fmt.Errorf("panel %q: %w", p.Title, err)
			}
			if t.Instant {
				vec, err := instant(ctx, engine, q, expr, grid.End())
				if err != nil {
					return nil, fmt.Errorf("panel %q: %w", p.Title, err)
				}
				pd.Table = tableOf(p, vec)
				continue
			}
			mat, err := rangeQuery(ctx, engine, q, expr, grid)
			if err != nil {
				return nil, fmt.Errorf("panel %q: %w", p.Title, err)
			}
			for _, s := range mat {
				values := make([]float64, grid.N)
				for i := range values {
					values[i] = math.NaN()
				}
				for _, pt := range s.Floats {
					i := int(math.Round(float64(time.UnixMilli(pt.T).Sub(grid.Start)) / float64(grid.Step)))
					if i >= 0 && i < grid.N {
						values[i] = pt.F
					}
				}
				pd.Series = append(pd.Series, series{Legend: legend(t.LegendFormat, s.Metric, expr), Values: values})
			}
		}
		out = append(out, pd)
	}
	return out, nil
}

// rangeQuery runs expr at each point of grid.
func rangeQuery(ctx context.Context, engine *promql.Engine, q storage.Queryable, expr string, grid timeGrid) (promql.Matrix, error) {
	qry, err := engine.NewRangeQuery(ctx, q, nil, expr, grid.Start, grid.End(), grid.Step)
	if err != nil {
		return nil, err
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("%s: %w", expr, res.Err)
	}
	return res.Matrix()
}

// instant runs expr at ts.
func instant(ctx context.Context, engine *promql.Engine, q storage.Queryable, expr string, ts time.Time) (promql.Vector, error) {
	qry, err := engine.NewInstantQuery(ctx, q, nil, expr, ts)
	if err != nil {
		return nil, err
	}
	defer qry.Close()
	res := qry.Exec(ctx)
	if res.Err != nil {
		return nil, fmt.Errorf("%s: %w", expr, res.Err)
	}
	return res.Vector()
}

// tableOf lays out an instant result as Grafana's table format does, a
// column per label and the value last, then applies p's organize
// transformation and sort.
func tableOf(p panel, vec promql.Vector) *table {
	labelSet := map[string]bool{}
	for _, s := range vec {
		s.Metric.Range(func(l labels.Label) { labelSet[l.Name] = true })
	}
	cols := append([]string{"Time"}, slices.Sorted(maps.Keys(labelSet))...)
	cols = append(cols, "Value")
	sorted := slices.Clone(vec)
	sortCol := ""
	for _, c := range cols {
		if name(p, c) == p.SortBy {
			sortCol = c
		}
	}
	slices.SortStableFunc(sorted, func(a, b promql.Sample) int {
		var c int
		switch sortCol {
		case "":
			return 0
		case "Value":
			c = cmp.Compare(a.F, b.F)
		case "Time":
			c = cmp.Compare(a.T, b.T)
		default:
			c = cmp.Compare(a.Metric.Get(sortCol), b.Metric.Get(sortCol))
		}
		if p.Desc {
			return -c
		}
		return c
	})
	t := &table{}
	for _, c := range cols {
		if !p.Hide[c] {
			t.Columns = append(t.Columns, name(p, c))
		}
	}
	for _, s := range sorted {
		var row []string
		for _, c := range cols {
			if p.Hide[c] {
				continue
			}
			switch c {
			case "Time":
				row = append(row, time.UnixMilli(s.T).UTC().Format(time.DateTime))
			case "Value":
				row = append(row, formatValue(p.Unit, s.F))
			default:
				row = append(row, s.Metric.Get(c))
			}
		}
		t.Rows = append(t.Rows, row)
	}
	return t
}

// name is the column's name after p's renames.
func name(p panel, col string) string {
	if n, ok := p.Rename[col]; ok {
		return n
	}
	return col
}
