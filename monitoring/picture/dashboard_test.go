package main

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The dashboard is read with what drawing it needs: each panel's kind,
// unit, stacking, fill and legend values, its queries, and the table's
// transformation and sort.
func TestReadDashboard(t *testing.T) {
	d, err := readDashboard(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if d.Title != "Caddy upstream errors" {
		t.Errorf("title %q", d.Title)
	}
	if want := map[string]string{"server": ".*", "error_budget": "0.001"}; !maps.Equal(d.Vars, want) {
		t.Errorf("variables %v, want %v", d.Vars, want)
	}
	byTitle := map[string]panel{}
	for _, p := range d.Panels {
		byTitle[p.Title] = p
	}
	ratio := byTitle["Failure ratio"]
	if ratio.Type != "timeseries" || ratio.Unit != "percentunit" || ratio.Stacked || ratio.Fill != 0.1 ||
		!slices.Equal(ratio.Calcs, []string{"max", "mean"}) || len(ratio.Targets) != 2 ||
		ratio.Targets[1].LegendFormat != "error budget (1 - SLO)" || ratio.Targets[0].Instant {
		t.Errorf("Failure ratio read as %+v", ratio)
	}
	if c := byTitle["Failures by cause"]; !c.Stacked || c.Unit != "reqps" || c.Targets[0].LegendFormat != "{{cause}}" {
		t.Errorf("Failures by cause read as %+v", c)
	}
	top := byTitle["Top causes"]
	if top.Type != "table" || !top.Targets[0].Instant || !top.Hide["Time"] || top.Rename["Value"] != "failures" ||
		top.SortBy != "failures" || !top.Desc {
		t.Errorf("Top causes read as %+v", top)
	}
	if len(d.Panels) != 7 {
		t.Errorf("%d panels", len(d.Panels))
	}
}

// A panel without a query, or a dashboard without panels, is refused
// rather than drawn empty.
func TestReadDashboardRefuses(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"noquery.json":  `{"panels": [{"type": "timeseries", "title": "x", "targets": []}]}`,
		"nopanels.json": `{"title": "x", "panels": []}`,
		"broken.json":   `{"panels": [`,
	} {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := readDashboard(path); err == nil {
			t.Errorf("%s was read", name)
		}
	}
}
