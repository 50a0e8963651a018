package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"encoding/xml"
	"io"
	"math"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// node is an element of the SVG, read back with encoding/xml.
type node struct {
	XMLName xml.Name
	Attrs   []xml.Attr `xml:",any,attr"`
	Text    string     `xml:",chardata"`
	Nodes   []node     `xml:",any"`
}

// attr returns the element's attribute name.
func (n node) attr(name string) string {
	for _, a := range n.Attrs {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

// all returns the elements under n, n included, that match.
func (n node) all(match func(node) bool) []node {
	var out []node
	if match(n) {
		out = append(out, n)
	}
	for _, c := range n.Nodes {
		out = append(out, c.all(match)...)
	}
	return out
}

// texts returns the text of the elements of class under n.
func (n node) texts(class string) []string {
	elems := n.all(func(e node) bool { return e.attr("class") == class })
	out := make([]string, 0, len(elems))
	for _, e := range elems {
		out = append(out, e.Text)
	}
	return out
}

// rawPanels reads the titles of the dashboard's panels in Grafana's
// order, top to bottom and left to right, apart from the code under test.
func rawPanels(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	type rawPanel struct {
		Title   string
		GridPos struct{ X, Y int }
	}
	var d struct{ Panels []rawPanel }
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	slices.SortStableFunc(d.Panels, func(a, b rawPanel) int {
		return cmp.Or(cmp.Compare(a.GridPos.Y, b.GridPos.Y), cmp.Compare(a.GridPos.X, b.GridPos.X))
	})
	titles := make([]string, 0, len(d.Panels))
	for _, p := range d.Panels {
		titles = append(titles, p.Title)
	}
	return titles
}

// rendered draws the dashboard over the synthetic site and reads the
// SVG back, strictly.
func rendered(t *testing.T) (root node, caption []string, data []panelData) {
	t.Helper()
	d, data, grid := evaluated(t)
	caption = []string{"Panels of monitoring/grafana/upstream-errors.json & friends, drawn <here>.", "Second paragraph."}
	var buf bytes.Buffer
	if err := render(&buf, d, data, grid, caption); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(&buf)
	dec.Strict = true
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("the SVG is not well-formed XML: %v", err)
	}
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after the root element: %v", err)
		}
		if cd, ok := tok.(xml.CharData); !ok || len(bytes.TrimSpace(cd)) > 0 {
			t.Fatalf("the SVG has %v after its root element", tok)
		}
	}
	return root, caption, data
}

// The image is well-formed SVG with one panel per dashboard panel, in
// the dashboard's order and with its titles, and the caption in full.
func TestRenderPanels(t *testing.T) {
	root, caption, _ := rendered(t)
	if root.XMLName.Local != "svg" || root.XMLName.Space != "http://www.w3.org/2000/svg" || root.attr("width") != "1200" {
		t.Fatalf("root element %v width %q", root.XMLName, root.attr("width"))
	}
	panels := root.all(func(n node) bool { return n.XMLName.Local == "g" && n.attr("class") == "panel" })
	titles := make([]string, 0, len(panels))
	height, _ := strconv.ParseFloat(root.attr("height"), 64)
	for _, p := range panels {
		titles = append(titles, strings.Join(p.texts("title"), "|"))
		box := p.all(func(n node) bool { return n.XMLName.Local == "rect" })[0]
		y, _ := strconv.ParseFloat(box.attr("y"), 64)
		h, _ := strconv.ParseFloat(box.attr("height"), 64)
		if y+h > height {
			t.Errorf("panel %q ends at y=%g, below the image's height %g", p.texts("title"), y+h, height)
		}
	}
	if want := rawPanels(t); !slices.Equal(titles, want) {
		t.Errorf("panels %q, want the dashboard's %q", titles, want)
	}
	if got, want := strings.Join(root.texts("caption"), " "), strings.Join(caption, " "); got != want {
		t.Errorf("caption %q, want %q", got, want)
	}
	// every variable filled, every legend template replaced
	for _, e := range root.all(func(n node) bool { return n.XMLName.Local == "text" }) {
		if strings.Contains(e.Text, "{{") || strings.Contains(e.Text, "$") {
			t.Errorf("text %q", e.Text)
		}
	}
}

// panelNode returns the drawn panel titled title.
func panelNode(t *testing.T, root node, title string) node {
	t.Helper()
	for _, p := range root.all(func(n node) bool { return n.attr("class") == "panel" }) {
		if slices.Contains(p.texts("title"), title) {
			return p
		}
	}
	t.Fatalf("no panel %q drawn", title)
	return node{}
}

// Each panel's legend names its series as the dashboard's legendFormat
// does, the series at 0 throughout listed apart; a panel without
// series says so; the table has the panel's columns and rows.
func TestRenderLegends(t *testing.T) {
	root, _, _ := rendered(t)
	for title, want := range map[string]struct {
		legend []string
		zero   []string
	}{
		"Failure ratio":                {[]string{"srv0", "error budget (1 - SLO)"}, []string{oddServer}},
		"Failures by cause":            {[]string{"connection_refused"}, []string{"http_response_timeout", "maintenance"}},
		"Failures by status":           {[]string{"502"}, []string{"503", "504"}},
		"Failures by upstream":         {[]string{"127.0.0.1:9 connection_refused"}, []string{"maintenance"}},
		"Requests ended by the client": {[]string{"client_canceled"}, []string{"client_disconnected"}},
	} {
		p := panelNode(t, root, title)
		if got := p.texts("legend"); !slices.Equal(got, want.legend) {
			t.Errorf("%s: legend %q, want %q", title, got, want.legend)
		}
		var drawn []string
		for _, path := range p.all(func(n node) bool { return n.attr("class") == "series" }) {
			drawn = append(drawn, path.attr("data-legend"))
		}
		if !slices.Equal(drawn, want.legend) {
			t.Errorf("%s: lines for %q, want %q", title, drawn, want.legend)
		}
		note := strings.Join(p.texts("legend-zero"), " ")
		for _, z := range want.zero {
			if !strings.Contains(note, z) {
				t.Errorf("%s: %q does not list %q", title, note, z)
			}
		}
		if n := len(p.texts("legend-value")); n != 2*len(want.legend) {
			t.Errorf("%s: %d legend values, want max and mean of each series", title, n)
		}
	}
	if got := panelNode(t, root, "Maintenance periods").texts("nodata"); !slices.Equal(got, []string{"No data"}) {
		t.Errorf("Maintenance periods: %q, want No data", got)
	}
	top := panelNode(t, root, "Top causes")
	if got := top.texts("th"); !slices.Equal(got, []string{"cause", "server", "status", "failures"}) {
		t.Errorf("Top causes: columns %q", got)
	}
	if got := top.texts("td"); len(got) != 4 || !slices.Equal(got[:3], []string{"connection_refused", "srv0", "502"}) {
		t.Errorf("Top causes: cells %q", got)
	}
}

// pathPoint matches a point of a path.
var pathPoint = regexp.MustCompile(`[ML]([\d.]+) ([\d.]+)`)

// A line reaches the height of its peak on the panel's value axis: the
// peak of refused connections, 2/s, is drawn level with the axis label
// "2 req/s", and no point leaves the panel.
func TestRenderScale(t *testing.T) {
	root, _, _ := rendered(t)
	p := panelNode(t, root, "Failures by cause")
	box := p.all(func(n node) bool { return n.XMLName.Local == "rect" })[0]
	num := func(n node, a string) float64 {
		v, err := strconv.ParseFloat(n.attr(a), 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", a, n.attr(a), err)
		}
		return v
	}
	x0, y0 := num(box, "x"), num(box, "y")
	x1, y1 := x0+num(box, "width"), y0+num(box, "height")
	labelY := math.NaN()
	for _, a := range p.all(func(n node) bool { return n.attr("class") == "axis" && n.Text == "2 req/s" }) {
		labelY = num(a, "y") - 4 // labels sit 4px below their grid line
	}
	if math.IsNaN(labelY) {
		t.Fatalf("no axis label 2 req/s among %q", p.texts("axis"))
	}
	top := math.Inf(1)
	for _, path := range p.all(func(n node) bool { return n.attr("class") == "series" }) {
		for _, m := range pathPoint.FindAllStringSubmatch(path.attr("d"), -1) {
			x, _ := strconv.ParseFloat(m[1], 64)
			y, _ := strconv.ParseFloat(m[2], 64)
			if x < x0 || x > x1 || y < y0 || y > y1 {
				t.Errorf("point %g,%g outside the panel %g,%g-%g,%g", x, y, x0, y0, x1, y1)
			}
			top = min(top, y)
		}
	}
	if math.Abs(top-labelY) > 0.5 {
		t.Errorf("the peak is drawn at y=%g, the 2 req/s grid line at y=%g", top, labelY)
	}

	checkValueAxis(t, p)
}

// checkValueAxis fails unless p's value axis spans its plot: its first
// label at the bottom of the time grid lines, its last at their top.
func checkValueAxis(t *testing.T, p node) {
	t.Helper()
	num := func(n node, a string) float64 {
		v, err := strconv.ParseFloat(n.attr(a), 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", a, n.attr(a), err)
		}
		return v
	}
	plotTop, plotBottom := math.NaN(), math.NaN()
	for _, l := range p.all(func(n node) bool { return n.XMLName.Local == "line" && n.attr("x1") == n.attr("x2") }) {
		plotTop, plotBottom = num(l, "y1"), num(l, "y2")
	}
	axis := p.all(func(n node) bool { return n.attr("class") == "axis" && n.attr("text-anchor") == "end" })
	labels := make([]float64, 0, len(axis))
	for _, a := range axis {
		labels = append(labels, num(a, "y")-4)
	}
	if len(labels) < 2 || labels[0] != plotBottom || labels[len(labels)-1] != plotTop {
		t.Errorf("value axis labels at %v, the plot from y=%g to y=%g", labels, plotTop, plotBottom)
	}
}
