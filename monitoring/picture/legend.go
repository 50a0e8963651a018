package main

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
)

// legendLabel matches {{label}} in a legendFormat, spaces allowed inside.
var legendLabel = regexp.MustCompile(`\{\{\s*(.+?)\s*\}\}`)

// legend names a series as Grafana's Prometheus data source does: the
// legendFormat with each {{label}} replaced by the series' value of it
// (nothing for a label the series lacks), or without a legendFormat the
// series' labels, or the query itself for a series with none.
func legend(format string, lset labels.Labels, expr string) string {
	if format == "" {
		name := lset.Get(model.MetricNameLabel)
		var pairs []string
		lset.Range(func(l labels.Label) {
			if l.Name != model.MetricNameLabel {
				pairs = append(pairs, l.Name+"="+strconv.Quote(l.Value))
			}
		})
		if len(pairs) == 0 {
			if name != "" {
				return name
			}
			return expr
		}
		return name + "{" + strings.Join(pairs, ", ") + "}"
	}
	return legendLabel.ReplaceAllStringFunc(format, func(ref string) string {
		return lset.Get(legendLabel.FindStringSubmatch(ref)[1])
	})
}
