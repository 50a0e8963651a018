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
	})
	if registry == nil {
		return nil
	}
	err := registry.Register(metrics.responses)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		return nil
	}
	return err
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
