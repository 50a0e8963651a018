package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/tsdb"
)

// The synthetic site: ten minutes scraped every 15 s. srv0 gets 10
// requests/s throughout; from 3:00 to 5:00 2/s of them are refused by
// 127.0.0.1:9; from 6:00 to 7:00 a client a second leaves. Another
// server, named with characters XML escapes, gets 1 request/s and no
// failure. No maintenance window, no timeout.
const (
	synthSpan     = 10 * time.Minute
	synthEvery    = 15 * time.Second
	synthRate     = 30 * time.Second
	synthRequests = 10.0
	synthRefused  = 2.0
	oddServer     = `<shop & "co">`
)

var (
	synthStart   = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	refusedFrom  = 3 * time.Minute
	refusedUntil = 5 * time.Minute
	leftFrom     = 6 * time.Minute
	leftUntil    = 7 * time.Minute
)

// within returns the seconds of [from, until) before at.
func within(at, from, until time.Duration) float64 {
	return (min(max(at, from), until) - from).Seconds()
}

// exposition is what Caddy's /metrics would say at, from the start.
func exposition(at time.Duration) string {
	secs := at.Seconds()
	refused := synthRefused * within(at, refusedFrom, refusedUntil)
	var b strings.Builder
	fmt.Fprintf(&b, "# TYPE caddy_http_requests_total counter\n")
	fmt.Fprintf(&b, "caddy_http_requests_total{handler=\"upstream_errors\",server=\"srv0\"} %g\n", synthRequests*secs)
	fmt.Fprintf(&b, "caddy_http_requests_total{handler=\"upstream_errors\",server=%q} %g\n", oddServer, secs)
	fmt.Fprintf(&b, "# TYPE caddy_http_upstream_errors_total counter\n")
	for _, server := range []string{"srv0", oddServer} {
		v := refused
		if server == oddServer {
			v = 0
		}
		fmt.Fprintf(&b, "caddy_http_upstream_errors_total{cause=\"connection_refused\",class=\"5xx\",server=%q,status=\"502\"} %g\n", server, v)
		fmt.Fprintf(&b, "caddy_http_upstream_errors_total{cause=\"maintenance\",class=\"5xx\",server=%q,status=\"503\"} 0\n", server)
		fmt.Fprintf(&b, "caddy_http_upstream_errors_total{cause=\"http_response_timeout\",class=\"5xx\",server=%q,status=\"504\"} 0\n", server)
	}
	fmt.Fprintf(&b, "# TYPE caddy_http_upstream_errors_by_upstream_total counter\n")
	fmt.Fprintf(&b, "caddy_http_upstream_errors_by_upstream_total{cause=\"maintenance\",server=\"srv0\",status=\"503\",upstream=\"\"} 0\n")
	if refused > 0 {
		// an upstream's series appears with its first failure
		fmt.Fprintf(&b, "caddy_http_upstream_errors_by_upstream_total{cause=\"connection_refused\",server=\"srv0\",status=\"502\",upstream=\"127.0.0.1:9\"} %g\n", refused)
	}
	fmt.Fprintf(&b, "# TYPE caddy_http_upstream_errors_client_total counter\n")
	fmt.Fprintf(&b, "caddy_http_upstream_errors_client_total{cause=\"client_canceled\",server=\"srv0\"} %g\n", within(at, leftFrom, leftUntil))
	fmt.Fprintf(&b, "caddy_http_upstream_errors_client_total{cause=\"client_disconnected\",server=\"srv0\"} 0\n")
	return b.String()
}

// synthetic records the synthetic site's scrapes in a TSDB, as the
// command records Caddy's, and returns it with the grid of the span.
func synthetic(t *testing.T) (*tsdb.DB, timeGrid) {
	t.Helper()
	db, err := tsdb.Open(filepath.Join(t.TempDir(), "tsdb"), slog.New(slog.DiscardHandler), nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	sc := &scraper{Store: db, Job: "caddy", Instance: "127.0.0.1:2019"}
	for at := time.Duration(0); at <= synthSpan; at += synthEvery {
		if err := sc.record(context.Background(), strings.NewReader(exposition(at)), synthStart.Add(at)); err != nil {
			t.Fatal(err)
		}
	}
	return db, scrapeGrid(sc.First, sc.Last, synthEvery)
}

// evaluated evaluates the repository's dashboard over the synthetic site.
func evaluated(t *testing.T) (*dashboard, []panelData, timeGrid) {
	t.Helper()
	d, err := readDashboard(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	db, grid := synthetic(t)
	data, err := evaluate(context.Background(), db, d, grid, synthRate)
	if err != nil {
		t.Fatal(err)
	}
	return d, data, grid
}

// dashboardFile is the repository's dashboard, from this package.
const dashboardFile = "../grafana/upstream-errors.json"

// panelNamed returns the evaluated panel titled title.
func panelNamed(t *testing.T, data []panelData, title string) panelData {
	t.Helper()
	for _, pd := range data {
		if pd.Panel.Title == title {
			return pd
		}
	}
	t.Fatalf("no panel %q", title)
	return panelData{}
}

// seriesNamed returns the series of pd whose legend is name.
func seriesNamed(t *testing.T, pd panelData, name string) series {
	t.Helper()
	var legends []string
	for _, s := range pd.Series {
		if s.Legend == name {
			return s
		}
		legends = append(legends, s.Legend)
	}
	t.Fatalf("%s: no series %q among %q", pd.Panel.Title, name, legends)
	return series{}
}
