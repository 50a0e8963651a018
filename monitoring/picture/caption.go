package main

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// caption says what the picture is: what drew it from what, the traffic
// of each phase with its clock times, and the variables' values.
func caption(dashPath string, d *dashboard, grid timeGrid, rate time.Duration, start time.Time, u *upstreams, total time.Duration) []string {
	minutes := strconv.FormatFloat(total.Minutes(), 'f', -1, 64)
	what := fmt.Sprintf("Panels of %s evaluated by Prometheus' PromQL engine over a real %s-minute scrape of Caddy with upstream_errors (rate window %s); drawn by monitoring/picture, not by Grafana.",
		dashPath, minutes, promDuration(rate))

	parts := []string{fmt.Sprintf("Traffic, times UTC: %s throughout", describe(story.Background, u))}
	for i, w := range plan(story.Phases, total) {
		p := story.Phases[i]
		if len(p.Streams) == 0 && !p.Maintenance {
			continue
		}
		var sends []string
		if p.Maintenance {
			sends = append(sends, "the maintenance flag file exists, so every request is answered 503")
		}
		for k, s := range p.Streams {
			if k > 0 && s.Path == p.Streams[k-1].Path {
				// the same upstream, named once
				sends = append(sends, fmt.Sprintf("%g more requests/s whose clients leave after %s", s.PerSecond, s.GiveUp))
				continue
			}
			sends = append(sends, describe(s, u))
		}
		parts = append(parts, fmt.Sprintf("%s–%s %s: %s", clock(start.Add(w.Start)), clock(start.Add(w.End)), p.Name, strings.Join(sends, ", and ")))
	}
	traffic := strings.Join(parts, "; ") + "."

	vars := make([]string, 0, len(d.Vars)+3)
	for _, name := range slices.Sorted(maps.Keys(d.Vars)) {
		vars = append(vars, fmt.Sprintf("%s = %s", name, d.Vars[name]))
	}
	b := builtins(grid.End().Sub(grid.Start), grid.Step, rate)
	vars = append(vars, "$__rate_interval = "+b["__rate_interval"], "$__interval = "+b["__interval"]+" (one scrape every "+promDuration(grid.Step)+")", "$__range = "+b["__range"])
	return []string{what, traffic, "Variables: " + strings.Join(vars, ", ") + "."}
}

// describe says what a stream sends to which upstream.
func describe(s stream, u *upstreams) string {
	to := map[string]string{
		pathHealthy: "a healthy upstream (" + u.Healthy + ")",
		pathRefused: "a closed port (" + u.Refused + ")",
		pathStalled: "an upstream that never answers (" + u.Stalled + "; response_header_timeout " + promDuration(headerTimeout) + ")",
		pathFailing: "an upstream answering 500 (" + u.Failing + ")",
	}[s.Path]
	out := fmt.Sprintf("%g requests/s to %s", s.PerSecond, to)
	if s.GiveUp > 0 {
		out += " whose clients leave after " + s.GiveUp.String()
	}
	return out
}

// clock writes t's time of day in UTC.
func clock(t time.Time) string { return t.UTC().Format("15:04:05") }
