package caddyfile

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// parseMetrics reads `metrics per_upstream [<max>]`.
func parseMetrics(d *caddyfile.Dispenser, m *upstreamerrors.Handler) error {
	if m.Metrics != nil {
		return d.Errf("metrics: set twice; give it once")
	}
	args := d.RemainingArgs()
	if len(args) == 0 || len(args) > 2 || args[0] != "per_upstream" {
		return d.Errf("metrics takes per_upstream and an optional maximum of upstreams, as in `metrics per_upstream 100`; got %q", args)
	}
	mt := &upstreamerrors.Metrics{PerUpstream: true}
	if len(args) == 2 {
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 || n > upstreamerrors.MaxUpstreamsMax {
			return d.Errf("metrics: per_upstream: %q is not a number of upstreams (1 to %d)", args[1], upstreamerrors.MaxUpstreamsMax)
		}
		mt.MaxUpstreams = n
	}
	m.Metrics = mt
	return nil
}

// parseRecent reads `recent <n>`.
func parseRecent(d *caddyfile.Dispenser, m *upstreamerrors.Handler) error {
	arg, err := oneArg(d)
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || n > upstreamerrors.RecentMax {
		return d.Errf("recent: %q is not a number of failures (1 to %d)", arg, upstreamerrors.RecentMax)
	}
	m.Recent = n
	return nil
}
