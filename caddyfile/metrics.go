package caddyfile

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// parseMetrics reads `metrics per_upstream [<max>]`.
func parseMetrics(d *caddyfile.Dispenser, m *upstreamerrors.Handler, at origins) error {
	if m.Metrics != nil {
		return d.Errf("metrics: set twice; give it once")
	}
	args := d.RemainingArgs()
	if len(args) == 0 || len(args) > 2 || args[0] != "per_upstream" {
		return d.Errf("metrics takes per_upstream and an optional maximum of upstreams, as in `metrics per_upstream 100`; got %q", args)
	}
	mt := &upstreamerrors.Metrics{PerUpstream: true}
	if len(args) == 2 {
		// 0 would mean the default; Validate checks the maximum
		n, err := strconv.Atoi(args[1])
		if err != nil || n < 1 {
			return d.Errf("metrics: per_upstream: %q is not a positive number of upstreams", args[1])
		}
		mt.MaxUpstreams = n
	}
	at.note(d, "metrics")
	at.note(d, "metrics.max_upstreams")
	m.Metrics = mt
	return nil
}

// parseRecent reads `recent <n>`.
func parseRecent(d *caddyfile.Dispenser, m *upstreamerrors.Handler, at origins) error {
	arg, err := oneArg(d)
	if err != nil {
		return err
	}
	// 0 would mean the default; Validate checks the maximum
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 {
		return d.Errf("recent: %q is not a positive number of failures", arg)
	}
	at.note(d, "recent")
	m.Recent = n
	return nil
}
