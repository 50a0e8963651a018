package main

import (
	"bytes"
	"encoding/xml"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql"
)

var nan = math.NaN()

// A line breaks where the query has no value, as Grafana's does.
func TestSegments(t *testing.T) {
	for _, c := range []struct {
		values []float64
		want   [][2]int
	}{
		{[]float64{1, 2, 3}, [][2]int{{0, 3}}},
		{[]float64{nan, 1, 2, nan, nan, 3}, [][2]int{{1, 3}, {5, 6}}},
		{[]float64{nan, nan}, nil},
		{[]float64{0, nan, 0}, [][2]int{{0, 1}, {2, 3}}},
	} {
		if got := segments(c.values); !slices.Equal(got, c.want) {
			t.Errorf("segments(%v) = %v, want %v", c.values, got, c.want)
		}
	}
}

// Series with a value other than 0 are drawn; those at 0 and those
// without any value are told apart.
func TestClassify(t *testing.T) {
	ss := []series{
		{Legend: "a", Values: []float64{nan, 0, 0}},
		{Legend: "b", Values: []float64{0, 0.5, nan}},
		{Legend: "c", Values: []float64{nan, nan, nan}},
		{Legend: "d", Values: []float64{-1, 0, 0}},
	}
	drawn, zero, empty := classify(ss)
	if !slices.Equal(drawn, []int{1, 3}) || !slices.Equal(zero, []int{0}) || !slices.Equal(empty, []int{2}) {
		t.Errorf("drawn %v, zero %v, empty %v", drawn, zero, empty)
	}
	got := notes(ss, zero, empty, 1000)
	if want := []string{"At 0 throughout, not drawn: a", "No value, not drawn: c"}; !slices.Equal(got, want) {
		t.Errorf("notes %q, want %q", got, want)
	}
}

// Legend values leave the points without a value out.
func TestCalcValue(t *testing.T) {
	values := []float64{nan, 1, 4, nan, 1, nan}
	for calc, want := range map[string]float64{"max": 4, "min": 1, "mean": 2, "lastNotNull": 1} {
		if got := calcValue(calc, values); got != want {
			t.Errorf("%s = %g, want %g", calc, got, want)
		}
	}
	if got := calcValue("last", values); !math.IsNaN(got) {
		t.Errorf("last = %g, want no value", got)
	}
	if got := calcValue("mean", []float64{nan}); !math.IsNaN(got) {
		t.Errorf("mean of nothing = %g", got)
	}
}

// Text wraps at spaces within the width and is cut with an ellipsis.
func TestWrapFit(t *testing.T) {
	if got := wrap("one two three four", 9); !slices.Equal(got, []string{"one two", "three", "four"}) {
		t.Errorf("wrap: %q", got)
	}
	if got := wrap("averyveryverylongword x", 5); !slices.Equal(got, []string{"averyveryverylongword", "x"}) {
		t.Errorf("wrap of a long word: %q", got)
	}
	if got := fit("127.0.0.1:41234 connection_refused", 10); got != "127.0.0.1…" {
		t.Errorf("fit: %q", got)
	}
	if got := fit("short", 10); got != "short" {
		t.Errorf("fit: %q", got)
	}
}

// A stacked panel draws each series on the ones before it; another
// draws each from 0; either on the scale of its value axis.
func TestRenderStacking(t *testing.T) {
	start := synthStart
	grid := timeGrid{Start: start, Step: time.Minute, N: 3}
	for _, c := range []struct {
		stacked bool
		want    string
	}{{true, "3"}, {false, "2"}} {
		p := panel{Type: "timeseries", Title: "p", Grid: gridPos{W: 24, H: 8}, Unit: "short", Stacked: c.stacked}
		data := []panelData{{Panel: p, Series: []series{
			{Legend: "a", Values: []float64{1, 1, 1}},
			{Legend: "b", Values: []float64{2, 2, 2}},
			// the axis goes past the top of the stack, to 4
			{Legend: "c", Values: []float64{0.5, 0.5, 0.5}},
		}}}
		var buf bytes.Buffer
		if err := render(&buf, &dashboard{Title: "d", Panels: []panel{p}}, data, grid, nil); err != nil {
			t.Fatal(err)
		}
		var root node
		if err := xml.Unmarshal(buf.Bytes(), &root); err != nil {
			t.Fatal(err)
		}
		var lineY, labelY string
		for _, e := range root.all(func(n node) bool { return n.attr("data-legend") == "b" }) {
			lineY = pathPoint.FindStringSubmatch(e.attr("d"))[2]
		}
		for _, e := range root.all(func(n node) bool { return n.attr("class") == "axis" && n.Text == c.want }) {
			y, _ := strconv.ParseFloat(e.attr("y"), 64)
			labelY = strconv.FormatFloat(y-4, 'f', 1, 64)
		}
		if lineY == "" || lineY != labelY {
			t.Errorf("stacked %v: b drawn at y=%s, the %s grid line at y=%s", c.stacked, lineY, c.want, labelY)
		}
		checkValueAxis(t, root)
	}
}

// A table's rows are sorted as the panel says, its columns hidden and
// renamed by its organize transformation.
func TestTableOf(t *testing.T) {
	p := panel{Unit: "short", Hide: map[string]bool{"Time": true}, Rename: map[string]string{"Value": "failures"}, SortBy: "failures", Desc: true}
	vec := promql.Vector{
		{Metric: labels.FromStrings("cause", "a", "status", "502"), F: 2},
		{Metric: labels.FromStrings("cause", "b", "status", "504"), F: 30},
		{Metric: labels.FromStrings("cause", "c", "status", "503"), F: 7.25},
	}
	got := tableOf(p, vec)
	if want := []string{"cause", "status", "failures"}; !slices.Equal(got.Columns, want) {
		t.Errorf("columns %q, want %q", got.Columns, want)
	}
	order := make([]string, 0, len(got.Rows))
	for _, r := range got.Rows {
		order = append(order, strings.Join(r, " "))
	}
	if want := []string{"b 504 30", "c 503 7.25", "a 502 2"}; !slices.Equal(order, want) {
		t.Errorf("rows %q, want %q", order, want)
	}
}

// Stacked, a series' stretch at 0 is not drawn: it would lie on the top
// of the stack over the line of the series below. Unstacked, it is.
func TestStackedZeroHidden(t *testing.T) {
	grid := timeGrid{Start: synthStart, Step: time.Minute, N: 5}
	for _, c := range []struct {
		stacked bool
		want    int
	}{{true, 3}, {false, 5}} {
		p := panel{Type: "timeseries", Title: "p", Grid: gridPos{W: 24, H: 8}, Stacked: c.stacked}
		data := []panelData{{Panel: p, Series: []series{
			{Legend: "below", Values: []float64{1, 1, 1, 1, 1}},
			{Legend: "late", Values: []float64{0, 0, 0, 2, 2}},
		}}}
		var buf bytes.Buffer
		if err := render(&buf, &dashboard{Title: "d", Panels: []panel{p}}, data, grid, nil); err != nil {
			t.Fatal(err)
		}
		var root node
		if err := xml.Unmarshal(buf.Bytes(), &root); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range root.all(func(n node) bool { return n.attr("data-legend") == "late" }) {
			n += len(pathPoint.FindAllString(e.attr("d"), -1))
		}
		if n != c.want {
			t.Errorf("stacked %v: the late series is drawn through %d points, want %d", c.stacked, n, c.want)
		}
	}
}
