package upstreamerrors_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/window"
	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// Maintenance in an upstream_errors nested in another answers, logs and
// counts each request once, as the inner handler alone: answered at once,
// over the hold's bound, after the hold, or left by its client while held.
func TestMaintenanceNested(t *testing.T) {
	store, opts := windowStorage(t)
	up, hits := countingUpstream(t)
	setWindow(t, store, "shop", window.State{On: true})
	opts.Admin = true
	inner := func(hold string) string {
		return fmt.Sprintf("\tupstream_errors {\n\t\tmaintenance {\n\t\t\twindow shop\n\t\t\t%s\n\t\t}\n\t}\n\treverse_proxy %s\n", hold, up)
	}
	c := testcaddy.StartCaddyfile(t, fmt.Sprintf(`upstream_errors
handle /now/* {
%s}
handle /held/* {
%s}
handle /late/* {
%s}
handle {
	reverse_proxy %s
}`, inner(""), inner("hold 1m 1"), inner("hold 300ms"), up), opts)

	const answered = `caddy_http_upstream_errors_total{cause="maintenance",class="5xx",server="srv0",status="503"}`
	const left = `caddy_http_upstream_errors_client_total{cause="client_canceled",server="srv0"}`
	once := func(t *testing.T, series string, before float64, id string) []testcaddy.Entry {
		t.Helper()
		entries := c.WaitEntries(id, 5*time.Second)
		if got := scrape(t, c, series); got != before+1 {
			t.Errorf("%s went from %v to %v, want +1", series, before, got)
		}
		if len(entries) != 1 {
			t.Errorf("%d log entries, want 1: %v", len(entries), entries)
		}
		return entries
	}

	for _, path := range []string{"/now/x", "/late/x"} {
		t.Run(path, func(t *testing.T) {
			before := scrape(t, c, answered)
			res, _, id := request(t, c, "GET", path)
			if res.StatusCode != 503 {
				t.Errorf("%d, want 503", res.StatusCode)
			}
			once(t, answered, before, id)
		})
	}

	t.Run("held, then over the bound, then left", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", c.URL("/held/x"), nil)
		const id = "nested-held-client-leaves"
		req.Header.Set("X-Request-ID", id)
		var wg sync.WaitGroup
		wg.Go(func() {
			if res, err := c.Client.Do(req); err == nil {
				res.Body.Close()
				t.Errorf("held request answered %d during the window", res.StatusCode)
			}
		})
		eventually(t, "holding the request", func() bool { return upstreamerrors.HeldRequests() == 1 })

		before := scrape(t, c, answered)
		res, _, overID := request(t, c, "GET", "/held/over")
		if res.StatusCode != 503 {
			t.Errorf("over the bound: %d, want 503", res.StatusCode)
		}
		once(t, answered, before, overID)

		before = scrape(t, c, left)
		cancel()
		wg.Wait()
		if es := once(t, left, before, id); len(es) == 1 && es[0]["cause"] != "client_canceled" {
			t.Errorf("entry %v, want cause client_canceled", es[0])
		}
	})
	if n := hits.Load(); n != 0 {
		t.Errorf("the upstream got %d requests during the window", n)
	}
}
