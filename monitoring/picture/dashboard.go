package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
)

// dashboard is what the picture reads of a Grafana dashboard: its panels
// and the values its variables take with every value selected.
type dashboard struct {
	Title  string
	Panels []panel
	// Vars are the dashboard's own variables: a constant's value, a
	// query variable's "All" value.
	Vars map[string]string
}

// panel is one panel of the dashboard, as far as drawing it needs.
type panel struct {
	Type    string
	Title   string
	Grid    gridPos
	Targets []target
	// Unit is Grafana's unit of the values: percentunit, reqps, short.
	Unit string
	// Stacked draws each series on top of the ones before it, as
	// Grafana's "normal" stacking does.
	Stacked bool
	// Fill is the opacity of the area under each line, 0 to 1.
	Fill float64
	// Calcs are the legend's values per series: max, mean...
	Calcs []string
	// Hide and Rename are the table columns the organize transformation
	// hides and renames; SortBy and Desc order its rows.
	Hide   map[string]bool
	Rename map[string]string
	SortBy string
	Desc   bool
}

// gridPos places a panel on Grafana's grid of 24 columns.
type gridPos struct {
	X, Y, W, H int
}

// target is one query of a panel.
type target struct {
	RefID        string
	Expr         string
	LegendFormat string
	Instant      bool
}

// grafanaDashboard is the part of the dashboard JSON model read here.
type grafanaDashboard struct {
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Type       string `json:"type"`
			Query      any    `json:"query"`
			IncludeAll bool   `json:"includeAll"`
			AllValue   string `json:"allValue"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Type    string  `json:"type"`
		Title   string  `json:"title"`
		GridPos gridPos `json:"gridPos"`
		Targets []struct {
			RefID        string `json:"refId"`
			Expr         string `json:"expr"`
			LegendFormat string `json:"legendFormat"`
			Instant      bool   `json:"instant"`
		} `json:"targets"`
		FieldConfig struct {
			Defaults struct {
				Unit   string `json:"unit"`
				Custom struct {
					FillOpacity float64 `json:"fillOpacity"`
					Stacking    struct {
						Mode string `json:"mode"`
					} `json:"stacking"`
				} `json:"custom"`
			} `json:"defaults"`
		} `json:"fieldConfig"`
		Options struct {
			Legend struct {
				Calcs []string `json:"calcs"`
			} `json:"legend"`
			SortBy []struct {
				DisplayName string `json:"displayName"`
				Desc        bool   `json:"desc"`
			} `json:"sortBy"`
		} `json:"options"`
		Transformations []struct {
			ID      string `json:"id"`
			Options struct {
				ExcludeByName map[string]bool   `json:"excludeByName"`
				RenameByName  map[string]string `json:"renameByName"`
			} `json:"options"`
		} `json:"transformations"`
	} `json:"panels"`
}

// readDashboard reads the Grafana dashboard at path.
func readDashboard(path string) (*dashboard, error) {
	data, err := os.ReadFile(path) //nolint:gosec // the dashboard the operator names
	if err != nil {
		return nil, err
	}
	var g grafanaDashboard
	if err := json.Unmarshal(data, &g); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	d := &dashboard{Title: g.Title, Vars: map[string]string{}}
	for _, v := range g.Templating.List {
		switch {
		case v.Type == "constant":
			d.Vars[v.Name], _ = v.Query.(string)
		case v.Type == "query" && v.IncludeAll:
			// a picture of the whole site: every value selected
			d.Vars[v.Name] = v.AllValue
			if v.AllValue == "" {
				d.Vars[v.Name] = ".*"
			}
		}
	}
	for _, gp := range g.Panels {
		p := panel{
			Type:    gp.Type,
			Title:   gp.Title,
			Grid:    gp.GridPos,
			Unit:    gp.FieldConfig.Defaults.Unit,
			Stacked: gp.FieldConfig.Defaults.Custom.Stacking.Mode == "normal",
			Fill:    gp.FieldConfig.Defaults.Custom.FillOpacity / 100,
			Calcs:   gp.Options.Legend.Calcs,
			Hide:    map[string]bool{},
			Rename:  map[string]string{},
		}
		for _, t := range gp.Targets {
			p.Targets = append(p.Targets, target(t))
		}
		for _, tr := range gp.Transformations {
			if tr.ID != "organize" {
				continue
			}
			maps.Copy(p.Hide, tr.Options.ExcludeByName)
			maps.Copy(p.Rename, tr.Options.RenameByName)
		}
		if len(gp.Options.SortBy) > 0 {
			p.SortBy, p.Desc = gp.Options.SortBy[0].DisplayName, gp.Options.SortBy[0].Desc
		}
		if len(p.Targets) == 0 {
			return nil, fmt.Errorf("%s: panel %q has no query", path, p.Title)
		}
		d.Panels = append(d.Panels, p)
	}
	if len(d.Panels) == 0 {
		return nil, fmt.Errorf("%s: no panels", path)
	}
	// Grafana lays panels out top to bottom, left to right
	slices.SortStableFunc(d.Panels, func(a, b panel) int {
		if a.Grid.Y != b.Grid.Y {
			return a.Grid.Y - b.Grid.Y
		}
		return a.Grid.X - b.Grid.X
	})
	return d, nil
}
