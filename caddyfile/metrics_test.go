package caddyfile

import (
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// metrics and recent fill their JSON fields, and a bad value fails with
// the sub-directive, the value and its line.
func TestMetricsAndRecent(t *testing.T) {
	for _, tc := range []struct {
		in      string
		metrics *upstreamerrors.Metrics
		recent  int
	}{
		{"metrics per_upstream", &upstreamerrors.Metrics{PerUpstream: true}, 0},
		{"metrics per_upstream 7\nrecent 250", &upstreamerrors.Metrics{PerUpstream: true, MaxUpstreams: 7}, 250},
		// the largest values accepted
		{"metrics per_upstream 10000\nrecent 10000", &upstreamerrors.Metrics{PerUpstream: true, MaxUpstreams: 10000}, 10000},
	} {
		var h upstreamerrors.Handler
		if err := Unmarshal(caddyfile.NewTestDispenser("upstream_errors {\n"+tc.in+"\n}"), &h); err != nil {
			t.Fatalf("%q: %v", tc.in, err)
		}
		if h.Metrics == nil || *h.Metrics != *tc.metrics || h.Recent != tc.recent {
			t.Errorf("%q: metrics %+v recent %d", tc.in, h.Metrics, h.Recent)
		}
		if err := h.Validate(); err != nil {
			t.Errorf("%q: %v", tc.in, err)
		}
	}
	for _, tc := range []struct{ in, want string }{
		{"metrics", "metrics takes per_upstream and an optional maximum"},
		{"metrics per_host", `got ["per_host"]`},
		{"metrics per_upstream 0", `metrics: per_upstream: "0" is not a positive number of upstreams`},
		{"metrics per_upstream lots", `metrics: per_upstream: "lots" is not a positive number of upstreams`},
		{"metrics per_upstream 10001", "metrics: per_upstream: 10001 must be between 1 and 10000"},
		{"metrics per_upstream 5 6", "metrics takes per_upstream and an optional maximum"},
		{"metrics per_upstream\nmetrics per_upstream", "metrics: set twice"},
		{"recent", "recent takes exactly one value, got 0"},
		{"recent 0", `recent: "0" is not a positive number of failures`},
		{"recent -3", `recent: "-3" is not a positive number of failures`},
		{"recent 20000", "recent: 20000 must be between 1 and 10000"},
		{"recent 5\nrecent 6", "recent: set twice"},
	} {
		err := Unmarshal(caddyfile.NewTestDispenser("upstream_errors {\n"+tc.in+"\n}"), new(upstreamerrors.Handler))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "Testfile:") {
			t.Errorf("%q: error %v, want %q with its line", tc.in, err, tc.want)
		}
	}
	// JSON: max_upstreams alone is refused, as is a negative recent
	for _, h := range []upstreamerrors.Handler{
		{Metrics: &upstreamerrors.Metrics{MaxUpstreams: 5}},
		{Recent: -1},
	} {
		if err := h.Validate(); err == nil {
			t.Errorf("%+v validates", h)
		}
	}
}
