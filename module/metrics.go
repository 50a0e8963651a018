package upstreamerrors

import (
	"errors"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are process-wide so counts survive config reloads, as Caddy's own
// HTTP metrics do; each config's registry gets the same collector.
var metrics = struct {
	once      sync.Once
	responses *prometheus.CounterVec
	client    *prometheus.CounterVec
	// byUpstream has series only for handlers with metrics per_upstream
	byUpstream *prometheus.CounterVec
}{}

// registerMetrics adds the module's collectors to registry.
func registerMetrics(registry *prometheus.Registry) error {
	metrics.once.Do(func() {
		metrics.responses = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy",
			Subsystem: "http",
			Name:      "upstream_errors_total",
			Help:      "Errors answered by upstream_errors, by response status, status class and cause.",
		}, []string{"server", "status", "class", "cause"})
		metrics.client = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy",
			Subsystem: "http",
			Name:      "upstream_errors_client_total",
			Help:      "Requests upstream_errors saw end by the client's doing (it left, or cut its request body short), by cause.",
		}, []string{"server", "cause"})
		metrics.byUpstream = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy",
			Subsystem: "http",
			Name:      "upstream_errors_by_upstream_total",
			Help:      "Errors answered by upstream_errors, by the upstream that failed (empty if none was tried; \"other\" past the configured maximum), response status and cause.",
		}, []string{"server", "upstream", "status", "cause"})
	})
	if registry == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{metrics.responses, metrics.client, metrics.byUpstream} {
		err := registry.Register(c)
		if _, ok := errors.AsType[prometheus.AlreadyRegisteredError](err); err != nil && !ok {
			return err
		}
	}
	return nil
}

// counterKey names one series of the counter.
type counterKey struct {
	server string
	status int
	cause  string
}

// counters caches each series' counter: looking one up by its label
// values hashes and formats them, which the error path does not need to
// repeat for the few series a server has.
var counters = struct {
	sync.RWMutex
	m map[counterKey]prometheus.Counter
}{m: make(map[counterKey]prometheus.Counter)}

// countResponse adds one to the series for server, status and cause.
func countResponse(server string, status int, cause string) {
	if c := counter(server, status, cause); c != nil {
		c.Inc()
	}
}

// counter returns the series for server, status and cause, creating it
// at 0 if it is new, or nil before the metric is registered (as in unit
// tests of the handler).
func counter(server string, status int, cause string) prometheus.Counter {
	if metrics.responses == nil {
		return nil
	}
	k := counterKey{server, status, cause}
	counters.RLock()
	c := counters.m[k]
	counters.RUnlock()
	if c == nil {
		c = metrics.responses.WithLabelValues(server, statusText(status), statusClass(status), cause)
		counters.Lock()
		counters.m[k] = c
		counters.Unlock()
	}
	return c
}

// clientKey names one series of the client counter.
type clientKey struct{ server, cause string }

var clientCounters = struct {
	sync.RWMutex
	m map[clientKey]prometheus.Counter
}{m: make(map[clientKey]prometheus.Counter)}

// countClient adds one to the client-side series for server and cause.
func countClient(server, cause string) {
	if c := clientCounter(server, cause); c != nil {
		c.Inc()
	}
}

// clientCounter returns the client-side series for server and cause,
// creating it at 0 on first use.
func clientCounter(server, cause string) prometheus.Counter {
	if metrics.client == nil {
		return nil
	}
	k := clientKey{server, cause}
	clientCounters.RLock()
	c := clientCounters.m[k]
	clientCounters.RUnlock()
	if c == nil {
		c = metrics.client.WithLabelValues(server, cause)
		clientCounters.Lock()
		clientCounters.m[k] = c
		clientCounters.Unlock()
	}
	return c
}
