package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/storage"
)

// sample is one value of one series in a scrape.
type sample struct {
	Labels labels.Labels
	Value  float64
}

// scraper reads a /metrics endpoint into storage, as a Prometheus scrape
// does: every sample of one read at the time the read began, with the
// target's job and instance labels.
type scraper struct {
	URL      string
	Client   *http.Client
	Store    storage.Appendable
	Job      string
	Instance string
	// First and Last are the times of the first and last scrape.
	First, Last time.Time
}

// scrape reads the endpoint once and appends what it read.
func (s *scraper) scrape(ctx context.Context) error {
	at := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL, nil)
	if err != nil {
		return err
	}
	res, err := s.Client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", s.URL, res.Status)
	}
	return s.record(ctx, res.Body, at)
}

// record appends the exposition read from r as scraped at at.
func (s *scraper) record(ctx context.Context, r io.Reader, at time.Time) error {
	samples, err := parseSamples(r, map[string]string{"job": s.Job, "instance": s.Instance})
	if err != nil {
		return fmt.Errorf("%s: %w", s.URL, err)
	}
	app := s.Store.Appender(ctx)
	for _, smp := range samples {
		if _, err := app.Append(0, smp.Labels, at.UnixMilli(), smp.Value); err != nil {
			_ = app.Rollback()
			return fmt.Errorf("%s: %w", smp.Labels, err)
		}
	}
	if err := app.Commit(); err != nil {
		return err
	}
	if s.First.IsZero() {
		s.First = at
	}
	s.Last = at
	return nil
}

// parseSamples reads a text exposition into the series Prometheus stores
// for it: counters, gauges and untyped values as they are; a summary as
// its quantiles, _sum and _count; a histogram as its _bucket series by
// le, _sum and _count. target labels are added to each.
func parseSamples(r io.Reader, target map[string]string) ([]sample, error) {
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(r)
	if err != nil {
		return nil, err
	}
	var out []sample
	for _, name := range slices.Sorted(maps.Keys(families)) {
		for _, m := range families[name].GetMetric() {
			add := func(suffix string, v float64, extra ...string) {
				// a label set to "" is no label, as Prometheus stores it
				b := labels.NewBuilder(labels.FromMap(target))
				for _, l := range m.GetLabel() {
					b.Set(l.GetName(), l.GetValue())
				}
				b.Set(model.MetricNameLabel, name+suffix)
				for i := 0; i+1 < len(extra); i += 2 {
					b.Set(extra[i], extra[i+1])
				}
				out = append(out, sample{Labels: b.Labels(), Value: v})
			}
			switch families[name].GetType() {
			case dto.MetricType_COUNTER:
				add("", m.GetCounter().GetValue())
			case dto.MetricType_GAUGE:
				add("", m.GetGauge().GetValue())
			case dto.MetricType_UNTYPED:
				add("", m.GetUntyped().GetValue())
			case dto.MetricType_SUMMARY:
				for _, q := range m.GetSummary().GetQuantile() {
					add("", q.GetValue(), model.QuantileLabel, formatFloat(q.GetQuantile()))
				}
				add("_sum", m.GetSummary().GetSampleSum())
				add("_count", float64(m.GetSummary().GetSampleCount()))
			case dto.MetricType_HISTOGRAM, dto.MetricType_GAUGE_HISTOGRAM:
				for _, b := range m.GetHistogram().GetBucket() {
					add("_bucket", float64(b.GetCumulativeCount()), model.BucketLabel, formatFloat(b.GetUpperBound()))
				}
				add("_sum", m.GetHistogram().GetSampleSum())
				add("_count", float64(m.GetHistogram().GetSampleCount()))
			}
		}
	}
	return out, nil
}

// formatFloat writes a quantile or bucket bound as the exposition does.
func formatFloat(f float64) string {
	return strconv.FormatFloat(f, 'g', -1, 64)
}
