// Command picture draws the Grafana dashboard's panels from a real run:
// it starts a Caddy built from this repository with upstream_errors in
// front of loopback upstreams it starts itself, sends the site traffic
// through phases of real failures (refused connections, timeouts, a
// maintenance window, 500 pages), scrapes Caddy's /metrics into
// Prometheus' TSDB meanwhile, evaluates every query of the dashboard
// with Prometheus' PromQL engine over the recorded span, and draws the
// results as one SVG image, docs/dashboard.svg. From the repository
// root:
//
//	go build -o /tmp/caddy ./cmd/caddy && cd monitoring && go run ./picture -caddy /tmp/caddy -out ../docs/dashboard.svg
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/prometheus/tsdb"
)

// regenerate makes docs/dashboard.svg again, from the repository root,
// as docs/observability.md says.
const regenerate = "go build -o /tmp/caddy ./cmd/caddy && cd monitoring && go run ./picture -caddy /tmp/caddy -out ../docs/dashboard.svg"

// options are the command's flags.
type options struct {
	caddy, out, dashboard string
	total, every, rate    time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.caddy, "caddy", "", "Caddy `binary` built from this repository's cmd/caddy, with upstream_errors")
	flag.StringVar(&o.out, "out", "../docs/dashboard.svg", "SVG file to write")
	flag.StringVar(&o.dashboard, "dashboard", "grafana/upstream-errors.json", "Grafana dashboard whose panels are drawn")
	flag.DurationVar(&o.total, "for", 4*time.Minute, "how long the traffic runs")
	flag.DurationVar(&o.every, "scrape", 5*time.Second, "scrape interval, and the step of the range queries")
	flag.DurationVar(&o.rate, "rate", 30*time.Second, "value of $__rate_interval")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: go run ./picture -caddy <binary> [flags]\n\nFrom the repository root:\n\n\t%s\n\n", regenerate)
		flag.PrintDefaults()
	}
	flag.Parse()
	if o.caddy == "" || flag.NArg() > 0 {
		flag.Usage()
		os.Exit(2)
	}
	if o.total < time.Minute || o.every <= 0 || o.rate < 2*o.every {
		log.Fatal("-for must be at least 1m, and -rate at least two scrape intervals, as rate() needs two samples")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		stop()
		log.Fatal(err)
	}
}

// run makes the picture.
func run(ctx context.Context, o options) error {
	// a dashboard that cannot be read fails now, not after the run
	d, err := readDashboard(o.dashboard)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "upstream-errors-picture-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	u, err := startUpstreams()
	if err != nil {
		return err
	}
	defer u.close()
	adminPort, err := freePort()
	if err != nil {
		return err
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	admin := fmt.Sprintf("127.0.0.1:%d", adminPort)
	site := fmt.Sprintf("http://127.0.0.1:%d", port)
	flagFile := filepath.Join(dir, "maintenance")
	cfg, err := caddyConfig(admin, port, flagFile, u)
	if err != nil {
		return err
	}
	caddy, err := startCaddy(ctx, o.caddy, dir, cfg, admin, site)
	if err != nil {
		return err
	}
	defer caddy.stop()

	db, err := tsdb.Open(filepath.Join(dir, "tsdb"), slog.New(slog.DiscardHandler), nil, tsdb.DefaultOptions(), nil)
	if err != nil {
		return err
	}
	defer db.Close()
	sc := &scraper{URL: "http://" + admin + "/metrics", Client: &http.Client{Timeout: o.every}, Store: db, Job: "caddy", Instance: admin}
	if err := sc.scrape(ctx); err != nil {
		return err
	}
	scrapeCtx, stopScraping := context.WithCancel(ctx)
	scraped := make(chan error, 1)
	go func() { scraped <- scrapeEvery(scrapeCtx, sc, o.every) }()

	log.Printf("sending %s of traffic to Caddy (its log: %s)", o.total, caddy.Log)
	start, t, err := drive(ctx, site, flagFile, o.total, story)
	stopScraping()
	if serr := <-scraped; serr != nil {
		return serr
	}
	if err != nil {
		return err
	}
	// the answers of the last requests are in this scrape
	if err := sc.scrape(ctx); err != nil {
		return err
	}
	t.summary(os.Stderr)
	caddy.stop()

	grid := scrapeGrid(sc.First, sc.Last, o.every)
	data, err := evaluate(ctx, db, d, grid, o.rate)
	if err != nil {
		return err
	}
	for _, pd := range data {
		log.Printf("%s: %d series", pd.Panel.Title, len(pd.Series))
	}
	var svg bytes.Buffer
	if err := render(&svg, d, data, grid, caption(dashboardName(o.dashboard), d, grid, o.rate, start, u, o.total)); err != nil {
		return err
	}
	tmp := o.out + ".tmp"
	if err := os.WriteFile(tmp, svg.Bytes(), 0o644); err != nil { //nolint:gosec // an image for the docs, readable by all
		return err
	}
	if err := os.Rename(tmp, o.out); err != nil {
		return err
	}
	log.Printf("wrote %s", o.out)
	return nil
}

// scrapeEvery scrapes every interval until ctx is done.
func scrapeEvery(ctx context.Context, sc *scraper, every time.Duration) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			if err := sc.scrape(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return fmt.Errorf("scrape: %w", err)
			}
		}
	}
}

// dashboardName names the dashboard as the repository does: the command
// runs in monitoring/.
func dashboardName(path string) string {
	if filepath.IsAbs(path) {
		return filepath.Base(path)
	}
	return filepath.ToSlash(filepath.Join("monitoring", path))
}
