package main

import (
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// A legend is the legendFormat with each {{label}} replaced as Grafana's
// Prometheus data source replaces it.
func TestLegend(t *testing.T) {
	lset := labels.FromStrings("server", "srv0", "cause", "connection_refused", "upstream", "10.0.0.2:8080")
	for _, c := range []struct{ format, want string }{
		{"{{server}}", "srv0"},
		{"{{ upstream }} {{cause}}", "10.0.0.2:8080 connection_refused"},
		{"{{upstream}}/{{upstream}}", "10.0.0.2:8080/10.0.0.2:8080"},
		// a label the series lacks writes nothing
		{"{{status}} {{cause}}", " connection_refused"},
		{"error budget (1 - SLO)", "error budget (1 - SLO)"},
		// without a legendFormat, the labels
		{"", `{cause="connection_refused", server="srv0", upstream="10.0.0.2:8080"}`},
	} {
		if got := legend(c.format, lset, "q"); got != c.want {
			t.Errorf("legend(%q) = %q, want %q", c.format, got, c.want)
		}
	}
	if got := legend("", labels.FromStrings(model.MetricNameLabel, "up", "job", "caddy"), "q"); got != `up{job="caddy"}` {
		t.Errorf("metric's legend %q", got)
	}
	// a series without labels, as vector(1), is named by its query
	if got := legend("", labels.EmptyLabels(), "vector(1)"); got != "vector(1)" {
		t.Errorf("legend of a series without labels %q", got)
	}
}
