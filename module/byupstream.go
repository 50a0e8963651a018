package upstreamerrors

import (
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddyserver/caddy/v2"
)

// Metrics configures the module's optional metrics.
type Metrics struct {
	// Count failures by upstream too, in
	// caddy_http_upstream_errors_by_upstream_total{server,upstream,status,cause}:
	// `upstream` is the dial address of the upstream that failed, as
	// reverse_proxy's {http.reverse_proxy.upstream.hostport} and the log
	// entry's `upstream` name it, and empty for a failure no upstream was
	// tried for (no upstream available, maintenance, the site's own errors).
	PerUpstream bool `json:"per_upstream,omitempty"`

	// The most distinct upstreams the process counts by name: the first
	// ones it sees (a covered static upstream when the config loads, any
	// other at its first failure) get their own series, later ones count as
	// upstream="other", so the number of series stays bounded however
	// many upstreams (dynamic ones included) there are. Shared by the
	// process: a handler names a new upstream only while fewer than its
	// own maximum are named. Default: 100.
	MaxUpstreams int `json:"max_upstreams,omitempty"`
}

// Bounds of max_upstreams.
const (
	DefaultMaxUpstreams = 100
	maxUpstreamsMax     = 10000
)

// otherUpstream is the upstream label of the upstreams past the maximum.
const otherUpstream = "other"

// upstreamPlace names the upstream reverse_proxy last picked for the
// request: set before it dials, so a refused or reset one is named too.
const upstreamPlace = "http.reverse_proxy.upstream.hostport"

// validateMetrics checks the metrics options.
func validateMetrics(m *Metrics) error {
	if m.MaxUpstreams < 0 || m.MaxUpstreams > maxUpstreamsMax {
		return fieldErr("max_upstreams", "", fmt.Errorf("%d must be between 1 and %d", m.MaxUpstreams, maxUpstreamsMax))
	}
	if m.MaxUpstreams != 0 && !m.PerUpstream {
		return fieldErr("max_upstreams", "", fmt.Errorf("%d needs per_upstream", m.MaxUpstreams))
	}
	return nil
}

// perUpstream returns the bound on named upstreams if h counts by
// upstream, else 0.
func (h *Handler) perUpstream() int {
	if h.Metrics == nil || !h.Metrics.PerUpstream {
		return 0
	}
	if h.Metrics.MaxUpstreams == 0 {
		return DefaultMaxUpstreams
	}
	return h.Metrics.MaxUpstreams
}

// failedUpstream is the upstream f names: the one reverse_proxy picked
// last, or none for the site's own errors, maintenance and no upstream
// available. A proxy with none to pick sets no upstream, so whatever the
// placeholder holds then is another proxy's (forward_auth's, say).
func failedUpstream(f *failure, repl *caddy.Replacer) string {
	if f.local || f.cause == causeMaintenance || f.cause == causeDestinationUnavail || repl == nil {
		return ""
	}
	up, _ := repl.GetString(upstreamPlace)
	return up
}

// namedUpstreams are the upstreams counted by name, process-wide and
// kept across reloads as the counter is: a name once given keeps its
// series.
var namedUpstreams = struct {
	sync.RWMutex
	m map[string]struct{}
}{m: make(map[string]struct{})}

// upstreamLabel returns the label for upstream: itself while fewer than
// limit upstreams are named, else "other".
func upstreamLabel(upstream string, limit int) string {
	if upstream == "" {
		return ""
	}
	namedUpstreams.RLock()
	_, named := namedUpstreams.m[upstream]
	full := len(namedUpstreams.m) >= limit
	namedUpstreams.RUnlock()
	switch {
	case named:
		return upstream
	case full:
		return otherUpstream
	}
	namedUpstreams.Lock()
	defer namedUpstreams.Unlock()
	if _, named := namedUpstreams.m[upstream]; !named {
		if len(namedUpstreams.m) >= limit {
			return otherUpstream
		}
		namedUpstreams.m[strings.Clone(upstream)] = struct{}{}
	}
	return upstream
}

// byUpstreamKey names one series of the by-upstream counter.
type byUpstreamKey struct {
	server, upstream string
	status           int
	cause            string
}

var byUpstreamCounters = struct {
	sync.RWMutex
	m map[byUpstreamKey]prometheus.Counter
}{m: make(map[byUpstreamKey]prometheus.Counter)}

// byUpstreamCounter returns the series for its key, creating it at 0 on
// first use, or nil before the metric is registered.
func byUpstreamCounter(k byUpstreamKey) prometheus.Counter {
	if metrics.byUpstream == nil {
		return nil
	}
	byUpstreamCounters.RLock()
	c := byUpstreamCounters.m[k]
	byUpstreamCounters.RUnlock()
	if c == nil {
		k.upstream = strings.Clone(k.upstream)
		c = metrics.byUpstream.WithLabelValues(k.server, k.upstream, statusText(k.status), k.cause)
		byUpstreamCounters.Lock()
		byUpstreamCounters.m[k] = c
		byUpstreamCounters.Unlock()
	}
	return c
}

// countByUpstream adds one to the by-upstream series of f.
func countByUpstream(server, upstream string, limit int, f *failure) {
	k := byUpstreamKey{server, upstreamLabel(upstream, limit), f.status, f.cause}
	if c := byUpstreamCounter(k); c != nil {
		c.Inc()
	}
}

// initUpstreamSeries creates at 0 the by-upstream series known before any
// failure: those of the causes no upstream is tried for, and those of
// each static upstream the handler covers (coveredUpstreams), for every
// cause an upstream can fail with, under the label its failures get.
// Those upstreams count toward the bound on named upstreams; past it,
// none is named ahead, and "other" appears with its first failure.
// Dynamic upstreams' series appear with their first failure.
func (h *Handler) initUpstreamSeries(ctx caddy.Context, server string) {
	limit := h.perUpstream()
	if limit == 0 {
		return
	}
	byUpstreamCounter(byUpstreamKey{server, "", h.statusForCause(causeDestinationUnavail), causeDestinationUnavail})
	if h.Maintenance != nil {
		byUpstreamCounter(byUpstreamKey{server, "", h.statusForCause(causeMaintenance), causeMaintenance})
	}
	for _, up := range coveredUpstreams(ctx) {
		if upstreamLabel(up, limit) != up {
			continue // past the bound: only an upstream named before
		}
		h.answeredSeries(func(status int, cause string) {
			switch cause {
			case causeDestinationUnavail, causeMaintenance:
				return // no upstream is named for these
			}
			byUpstreamCounter(byUpstreamKey{server, up, status, cause})
		})
	}
}

// recordFailure counts a failure the module answered by upstream, when
// configured, and writes it into the buffer of recent failures.
func (h *Handler) recordFailure(r *http.Request, f *failure, server string) {
	repl := f.repl
	if repl == nil {
		repl, _ = r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	}
	upstream := failedUpstream(f, repl)
	if f.requestID == "" {
		f.requestID = h.requestID(r, repl)
	}
	if limit := h.perUpstream(); limit > 0 {
		countByUpstream(server, upstream, limit, f)
	}
	recordRecent(r, f, server, upstream)
}
