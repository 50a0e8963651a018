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
