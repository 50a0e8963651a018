package main

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// Layout of the image, in pixels.
const (
	imageWidth = 1200
	margin     = 16
	gutter     = 12
	// titleBar is the height of a panel's title.
	titleBar = 30
	// gridUnit is the height of one row of Grafana's grid in a plot.
	gridUnit = 22
	// axisLabels is the width of the value axis' labels, left of a plot.
	axisLabels = 74
	// calcColumn is the width of a legend value column.
	calcColumn = 84
	legendRow  = 17
	noteRow    = 15
	tableRow   = 22
	legendSize = 11.5
	noteSize   = 11
)

// palette colours the drawn series of a panel in order: distinct hues
// that read on white.
var palette = []string{
	"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
	"#8c564b", "#e377c2", "#17becf", "#7f7f7f", "#bcbd22",
}

// calcNames are the legend values Grafana's legend calcs name.
var calcNames = map[string]string{"max": "Max", "min": "Min", "mean": "Mean", "last": "Last", "lastNotNull": "Last *"}

// render draws the panels of d with their results over grid as one SVG
// image: the dashboard's title, the caption's paragraphs, then the
// panels on Grafana's grid of 24 columns.
func render(w io.Writer, d *dashboard, data []panelData, grid timeGrid, caption []string) error {
	for _, pd := range data {
		for _, c := range pd.Panel.Calcs {
			if calcNames[c] == "" {
				return fmt.Errorf("panel %q: legend value %q is not drawn", pd.Panel.Title, c)
			}
		}
	}
	var body svg
	y := header(&body, d.Title, caption)
	col := float64(imageWidth-2*margin+gutter) / 24
	for i := 0; i < len(data); {
		j := i
		for j < len(data) && data[j].Panel.Grid.Y == data[i].Panel.Grid.Y {
			j++
		}
		row := data[i:j]
		h := 0.0
		for _, pd := range row {
			h = max(h, panelHeight(pd, float64(pd.Panel.Grid.W)*col-gutter))
		}
		for _, pd := range row {
			x := margin + float64(pd.Panel.Grid.X)*col
			drawPanel(&body, pd, grid, x, y, float64(pd.Panel.Grid.W)*col-gutter, h)
		}
		y += h + gutter
		i = j
	}
	height := math.Ceil(y - gutter + margin)
	if _, err := fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%.0f" viewBox="0 0 %d %.0f" font-family="%s">
<rect width="100%%" height="100%%" fill="#f4f5f5"/>
`, imageWidth, height, imageWidth, height, font); err != nil {
		return err
	}
	if _, err := io.WriteString(w, body.String()); err != nil {
		return err
	}
	_, err := io.WriteString(w, "</svg>\n")
	return err
}

// header writes the title and caption and returns where panels start.
func header(s *svg, title string, caption []string) float64 {
	y := float64(margin) + 22
	s.text(margin, y, 20, `class="dashboard" font-weight="bold" fill="#22252b"`, title)
	y += 8
	n := int((imageWidth - 2*margin) / charWidth(12.5))
	for _, para := range caption {
		for _, line := range wrap(para, n) {
			y += 17
			s.text(margin, y, 12.5, `class="caption" fill="#3d424d"`, line)
		}
		y += 4
	}
	return y + 12
}

// panelHeight is the height panel pd needs at width w.
func panelHeight(pd panelData, w float64) float64 {
	if pd.Table != nil || len(pd.Series) == 0 {
		rows := 1
		if pd.Table != nil {
			rows += len(pd.Table.Rows)
		}
		return max(titleBar+float64(rows)*tableRow+16, titleBar+float64(pd.Panel.Grid.H)*gridUnit+30)
	}
	drawn, zero, empty := classify(pd.Series)
	h := titleBar + 8 + float64(pd.Panel.Grid.H)*gridUnit + 30
	if len(drawn) > 0 {
		h += float64(len(drawn)+1) * legendRow
	}
	h += float64(len(notes(pd.Series, zero, empty, w))) * noteRow
	return h + 10
}

// drawPanel writes panel pd in the box at x, y of width w and height h.
func drawPanel(s *svg, pd panelData, grid timeGrid, x, y, w, h float64) {
	s.printf(`<g class="panel" data-type="%s">`, esc(pd.Panel.Type))
	s.printf(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" rx="4" fill="#ffffff" stroke="#d0d4d9"/>`, x, y, w, h)
	s.text(x+12, y+20, 14, `class="title" font-weight="bold" fill="#22252b"`, pd.Panel.Title)
	switch {
	case pd.Table != nil:
		drawTable(s, pd, x, y+titleBar, w)
	case len(pd.Series) == 0:
		s.text(x+w/2, y+titleBar+float64(pd.Panel.Grid.H)*gridUnit/2, 13, `class="nodata" text-anchor="middle" fill="#6e7380"`, "No data")
	default:
		drawTimeseries(s, pd, grid, x, y+titleBar+8, w)
	}
	s.printf(`</g>`)
}

// classify sorts the series of a panel: those with a value other than
// 0, which are drawn; those at 0 wherever they have a value, which would
// add nothing but a line along the axis; and those with no value at all
// (NaN throughout, as a ratio of no requests).
func classify(ss []series) (drawn, zero, empty []int) {
	for i, sr := range ss {
		some, nonzero := false, false
		for _, v := range sr.Values {
			if !math.IsNaN(v) {
				some = true
				nonzero = nonzero || v != 0
			}
		}
		switch {
		case nonzero:
			drawn = append(drawn, i)
		case some:
			zero = append(zero, i)
		default:
			empty = append(empty, i)
		}
	}
	return drawn, zero, empty
}

// notes lists the series that are not drawn, wrapped to width w.
func notes(ss []series, zero, empty []int, w float64) []string {
	var out []string
	for _, group := range []struct {
		what    string
		members []int
	}{{"At 0 throughout, not drawn: ", zero}, {"No value, not drawn: ", empty}} {
		if len(group.members) == 0 {
			continue
		}
		names := make([]string, len(group.members))
		for i, m := range group.members {
			names[i] = ss[m].Legend
		}
		out = append(out, wrap(group.what+strings.Join(names, ", "), int((w-24)/charWidth(noteSize)))...)
	}
	return out
}

// drawTimeseries writes the plot, axes and legend of a time series panel
// whose plot starts at y, stacking the series if the panel does.
func drawTimeseries(s *svg, pd panelData, grid timeGrid, x, y, w float64) {
	p := pd.Panel
	left, right := x+axisLabels, x+w-16
	top, bottom := y, y+float64(p.Grid.H)*gridUnit
	drawn, zero, empty := classify(pd.Series)

	// each drawn series from its base, the sum of the ones below it
	// when stacked, else 0
	bases := make([][]float64, len(drawn))
	tops := make([][]float64, len(drawn))
	sum := make([]float64, grid.N)
	highest := 0.0
	for k, i := range drawn {
		bases[k] = make([]float64, grid.N)
		tops[k] = make([]float64, grid.N)
		for j, v := range pd.Series[i].Values {
			base := 0.0
			if p.Stacked {
				base = sum[j]
			}
			bases[k][j], tops[k][j] = base, base+v
			if !math.IsNaN(v) {
				if p.Stacked {
					sum[j] += v
				}
				highest = max(highest, base+v)
			}
		}
	}
	ticks, step := valueTicks(highest)
	axisTop := ticks[len(ticks)-1]
	xOf := func(j int) float64 {
		if grid.N < 2 {
			return left
		}
		return left + (right-left)*float64(j)/float64(grid.N-1)
	}
	yOf := func(v float64) float64 { return bottom - (bottom-top)*min(v, axisTop)/axisTop }

	for _, t := range ticks {
		ty := yOf(t)
		s.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e7eb"/>`, left, ty, right, ty)
		s.text(left-6, ty+4, 11, `class="axis" text-anchor="end" fill="#5a5f6b"`, formatTick(p.Unit, t, step))
	}
	span := grid.End().Sub(grid.Start)
	maxTicks := int((right - left) / 90)
	times, labels := timeTicks(grid.Start, grid.End(), maxTicks)
	for k, t := range times {
		if span <= 0 {
			break
		}
		tx := left + (right-left)*float64(t.Sub(grid.Start))/float64(span)
		s.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eef0f2"/>`, tx, top, tx, bottom)
		s.text(tx, bottom+15, 11, `class="axis" text-anchor="middle" fill="#5a5f6b"`, labels[k])
	}
	s.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#9aa0aa"/>`, left, bottom, right, bottom)

	for k, i := range drawn {
		color := palette[k%len(palette)]
		values := pd.Series[i].Values
		for _, seg := range segments(values) {
			var line, area strings.Builder
			for j := seg[0]; j < seg[1]; j++ {
				fmt.Fprintf(&area, "%s%.1f %.1f", cmd(j == seg[0]), xOf(j), yOf(tops[k][j]))
			}
			for j := seg[1] - 1; j >= seg[0]; j-- {
				fmt.Fprintf(&area, "L%.1f %.1f", xOf(j), yOf(bases[k][j]))
			}
			if p.Fill > 0 {
				s.printf(`<path d="%sZ" fill="%s" fill-opacity="%g" stroke="none"/>`, area.String(), color, p.Fill)
			}
			// stacked, a series' stretch at 0 would lie on the top of the
			// stack in its own colour, over the line of the series below
			// that makes the top: it is left out
			hidden := func(j int) bool { return p.Stacked && values[j] == 0 }
			if seg[1]-seg[0] == 1 {
				if !hidden(seg[0]) {
					s.printf(`<circle class="point" cx="%.1f" cy="%.1f" r="2" fill="%s"/>`, xOf(seg[0]), yOf(tops[k][seg[0]]), color)
				}
				continue
			}
			pen := false
			for j := seg[0] + 1; j < seg[1]; j++ {
				if hidden(j-1) && hidden(j) {
					pen = false
					continue
				}
				if !pen {
					fmt.Fprintf(&line, "M%.1f %.1f", xOf(j-1), yOf(tops[k][j-1]))
				}
				fmt.Fprintf(&line, "L%.1f %.1f", xOf(j), yOf(tops[k][j]))
				pen = true
			}
			if line.Len() > 0 {
				s.printf(`<path class="series" data-legend="%s" d="%s" fill="none" stroke="%s" stroke-width="1.6" stroke-linejoin="round"/>`,
					esc(pd.Series[i].Legend), line.String(), color)
			}
		}
	}

	// the legend below the plot, a table with the panel's calcs as
	// Grafana's table legend has them
	ly := bottom + 30 + legendRow
	nameWidth := w - 24 - float64(len(p.Calcs))*calcColumn
	if len(drawn) > 0 {
		for c, calc := range p.Calcs {
			s.text(x+w-12-float64(len(p.Calcs)-1-c)*calcColumn, ly-legendRow+2, legendSize, `class="legend-head" text-anchor="end" font-weight="bold" fill="#5a5f6b"`, calcNames[calc])
		}
	}
	for k, i := range drawn {
		sr := pd.Series[i]
		s.printf(`<rect x="%.1f" y="%.1f" width="14" height="4" rx="1" fill="%s"/>`, x+12, ly-6, palette[k%len(palette)])
		s.text(x+32, ly, legendSize, `class="legend" fill="#22252b"`, fit(sr.Legend, int((nameWidth-24)/charWidth(legendSize))))
		for c, calc := range p.Calcs {
			s.text(x+w-12-float64(len(p.Calcs)-1-c)*calcColumn, ly, legendSize, `class="legend-value" text-anchor="end" fill="#22252b"`, formatValue(p.Unit, calcValue(calc, sr.Values)))
		}
		ly += legendRow
	}
	for _, line := range notes(pd.Series, zero, empty, w) {
		s.text(x+12, ly-2, noteSize, `class="legend-zero" fill="#6e7380"`, line)
		ly += noteRow
	}
}

// cmd starts a path at its first point and draws a line to the next.
func cmd(first bool) string {
	if first {
		return "M"
	}
	return "L"
}

// segments returns the runs of values without a gap, each as the index
// of its first value and one past its last: Grafana leaves a gap where a
// query has no value.
func segments(values []float64) [][2]int {
	var out [][2]int
	start := -1
	for j, v := range values {
		switch {
		case math.IsNaN(v) && start >= 0:
			out = append(out, [2]int{start, j})
			start = -1
		case !math.IsNaN(v) && start < 0:
			start = j
		}
	}
	if start >= 0 {
		out = append(out, [2]int{start, len(values)})
	}
	return out
}

// calcValue computes a legend value of values, the points without one
// left out as Grafana does.
func calcValue(calc string, values []float64) float64 {
	out, n := math.NaN(), 0
	for _, v := range values {
		if math.IsNaN(v) {
			continue
		}
		switch {
		case n == 0:
			out = v
		case calc == "max":
			out = max(out, v)
		case calc == "min":
			out = min(out, v)
		case calc == "mean":
			out += v
		case calc == "lastNotNull":
			out = v
		}
		n++
	}
	switch calc {
	case "mean":
		if n > 0 {
			out /= float64(n)
		}
	case "last":
		out = values[len(values)-1]
	}
	return out
}

// drawTable writes a table panel's columns and rows below y.
func drawTable(s *svg, pd panelData, x, y, w float64) {
	t := pd.Table
	if len(t.Rows) == 0 {
		s.text(x+w/2, y+float64(pd.Panel.Grid.H)*gridUnit/2, 13, `class="nodata" text-anchor="middle" fill="#6e7380"`, "No data")
		return
	}
	// columns share the width in proportion to their longest text
	widths := make([]float64, len(t.Columns))
	total := 0.0
	for c, name := range t.Columns {
		n := len([]rune(name))
		for _, r := range t.Rows {
			n = max(n, len([]rune(r[c])))
		}
		widths[c] = float64(n) + 4
		total += widths[c]
	}
	inner := w - 24
	cx := x + 12
	for c, name := range t.Columns {
		cw := inner * widths[c] / total
		anchor, tx := `text-anchor="start"`, cx+6
		if c == len(t.Columns)-1 {
			// the value, right-aligned as Grafana aligns numbers
			anchor, tx = `text-anchor="end"`, cx+cw-6
		}
		s.text(tx, y+16, 12, `class="th" font-weight="bold" fill="#3d424d" `+anchor, name)
		for r, row := range t.Rows {
			ry := y + float64(r+1)*tableRow + 16
			s.text(tx, ry, 12, `class="td" fill="#22252b" `+anchor, fit(row[c], int(cw/charWidth(12))))
		}
		cx += cw
	}
	for r := range t.Rows {
		ly := y + float64(r+1)*tableRow + 2
		s.printf(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e4e7eb"/>`, x+12, ly, x+w-12, ly)
	}
}
