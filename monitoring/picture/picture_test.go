package main

import (
	"encoding/xml"
	"os"
	"slices"
	"strings"
	"testing"
)

// The committed picture is of the dashboard as it stands: a panel per
// panel, with its title, and the caption saying what it is. A dashboard
// edited since fails here: make the picture again (regenerate).
func TestCommittedPicture(t *testing.T) {
	data, err := os.ReadFile("../../docs/dashboard.svg")
	if err != nil {
		t.Fatal(err)
	}
	var root node
	if err := xml.Unmarshal(data, &root); err != nil {
		t.Fatalf("docs/dashboard.svg: %v", err)
	}
	panels := root.all(func(n node) bool { return n.attr("class") == "panel" })
	titles := make([]string, 0, len(panels))
	for _, p := range panels {
		titles = append(titles, strings.Join(p.texts("title"), "|"))
	}
	if want := rawPanels(t); !slices.Equal(titles, want) {
		t.Errorf("docs/dashboard.svg shows panels %q, the dashboard has %q: run %s", titles, want, regenerate)
	}
	caption := strings.Join(root.texts("caption"), " ")
	if !strings.HasPrefix(caption, "Panels of monitoring/grafana/upstream-errors.json evaluated by Prometheus' PromQL engine over a real ") ||
		!strings.Contains(caption, "drawn by monitoring/picture, not by Grafana.") {
		t.Errorf("docs/dashboard.svg: caption %q", caption)
	}
}

// docs/observability.md shows the picture and the command that makes it.
func TestPictureDocumented(t *testing.T) {
	data, err := os.ReadFile("../../docs/observability.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(data)
	if !strings.Contains(doc, "](dashboard.svg)") {
		t.Error("docs/observability.md does not show dashboard.svg")
	}
	if !strings.Contains(doc, "\n"+regenerate+"\n") {
		t.Errorf("docs/observability.md does not give the command that makes the picture:\n%s", regenerate)
	}
}
