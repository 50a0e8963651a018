package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/tsdb"
)

// An exposition becomes the series Prometheus stores for it.
func TestParseSamples(t *testing.T) {
	const text = `# TYPE caddy_http_upstream_errors_total counter
caddy_http_upstream_errors_total{cause="connection_refused",server="srv0",status="502"} 3
# TYPE caddy_http_upstream_errors_by_upstream_total counter
caddy_http_upstream_errors_by_upstream_total{cause="maintenance",server="srv0",upstream=""} 2
# TYPE go_goroutines gauge
go_goroutines 12
# TYPE plain untyped
plain 1.5
# TYPE lat histogram
lat_bucket{le="0.5"} 1
lat_bucket{le="+Inf"} 4
lat_sum 3.25
lat_count 4
# TYPE gc summary
gc{quantile="0.5"} 0.01
gc_sum 0.5
gc_count 7
`
	samples, err := parseSamples(strings.NewReader(text), map[string]string{"job": "caddy", "instance": "i"})
	if err != nil {
		t.Fatal(err)
	}
	got := make([]string, 0, len(samples))
	for _, s := range samples {
		got = append(got, s.Labels.String()+" "+formatFloat(s.Value))
	}
	slices.Sort(got)
	want := []string{
		`{__name__="caddy_http_upstream_errors_by_upstream_total", cause="maintenance", instance="i", job="caddy", server="srv0"} 2`,
		`{__name__="caddy_http_upstream_errors_total", cause="connection_refused", instance="i", job="caddy", server="srv0", status="502"} 3`,
		`{__name__="gc", instance="i", job="caddy", quantile="0.5"} 0.01`,
		`{__name__="gc_count", instance="i", job="caddy"} 7`,
		`{__name__="gc_sum", instance="i", job="caddy"} 0.5`,
		`{__name__="go_goroutines", instance="i", job="caddy"} 12`,
		`{__name__="lat_bucket", instance="i", job="caddy", le="+Inf"} 4`,
		`{__name__="lat_bucket", instance="i", job="caddy", le="0.5"} 1`,
		`{__name__="lat_count", instance="i", job="caddy"} 4`,
		`{__name__="lat_sum", instance="i", job="caddy"} 3.25`,
		`{__name__="plain", instance="i", job="caddy"} 1.5`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("series:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if _, err := parseSamples(strings.NewReader("not an exposition {"), nil); err == nil {
		t.Error("a broken exposition was read")
	}
}

// Each scrape is stored at the time it began, and the scraper keeps the
// first and last of them.
func TestScrape(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n++
		_, _ = w.Write([]byte("# TYPE hits counter\nhits " + formatFloat(float64(10*n)) + "\n"))
	}))
	defer srv.Close()
	db, err := tsdb.Open(filepath.Join(t.TempDir(), "tsdb"), slog.New(slog.DiscardHandler), nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sc := &scraper{URL: srv.URL, Client: srv.Client(), Store: db, Job: "caddy", Instance: "here"}
	before := time.Now()
	for range 3 {
		if err := sc.scrape(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if sc.First.Before(before) || !sc.Last.After(sc.First) {
		t.Errorf("first %s, last %s", sc.First, sc.Last)
	}
	q, err := db.Querier(sc.First.UnixMilli(), sc.Last.UnixMilli())
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	set := q.Select(context.Background(), false, nil, labels.MustNewMatcher(labels.MatchEqual, model.MetricNameLabel, "hits"))
	var values []float64
	var ts []int64
	for set.Next() {
		if s := set.At(); s.Labels().Get("job") != "caddy" || s.Labels().Get("instance") != "here" {
			t.Errorf("labels %s", s.Labels())
		}
		it := set.At().Iterator(nil)
		for it.Next() != 0 {
			tm, v := it.At()
			ts, values = append(ts, tm), append(values, v)
		}
	}
	if !slices.Equal(values, []float64{10, 20, 30}) || ts[0] != sc.First.UnixMilli() || ts[2] != sc.Last.UnixMilli() {
		t.Errorf("stored %v at %v; first %d, last %d", values, ts, sc.First.UnixMilli(), sc.Last.UnixMilli())
	}

	bad := &scraper{URL: srv.URL + "/x", Client: http.DefaultClient, Store: db}
	srv.Config.Handler = http.NotFoundHandler()
	if err := bad.scrape(context.Background()); err == nil {
		t.Error("a 404 was scraped")
	}
}
