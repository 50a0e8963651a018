package main

import (
	"fmt"
	"regexp"
	"time"

	"github.com/prometheus/common/model"
)

// variableRef matches a Grafana variable reference: $name or ${name},
// with an optional ${name:format}. A name is read whole, so $__interval
// never matches the start of $__rate_interval.
var variableRef = regexp.MustCompile(`\$\{(\w+)(?::\w+)?\}|\$(\w+)`)

// builtins returns Grafana's global variables for a query over a time
// range of length span, one point per step, with rate the value of
// $__rate_interval.
func builtins(span, step, rate time.Duration) map[string]string {
	// whole seconds, as Grafana sends it, and past the span: a range
	// selector leaves its start out, and the first sample is there
	rangeS := span.Truncate(time.Second) + time.Second
	return map[string]string{
		"__rate_interval": promDuration(rate),
		"__interval":      promDuration(step),
		"__interval_ms":   fmt.Sprint(step.Milliseconds()),
		"__range":         promDuration(rangeS),
		"__range_s":       fmt.Sprint(int64(rangeS / time.Second)),
		"__range_ms":      fmt.Sprint(rangeS.Milliseconds()),
	}
}

// promDuration writes d as a PromQL duration.
func promDuration(d time.Duration) string {
	return model.Duration(d).String()
}

// fillVariables replaces every variable reference of expr by its value in
// vars, as Grafana does before it sends a query; a reference to a
// variable vars lacks is an error, not a query Prometheus would refuse.
func fillVariables(expr string, vars map[string]string) (string, error) {
	var missing string
	out := variableRef.ReplaceAllStringFunc(expr, func(ref string) string {
		m := variableRef.FindStringSubmatch(ref)
		name := m[1] + m[2]
		v, ok := vars[name]
		if !ok && missing == "" {
			missing = ref
		}
		return v
	})
	if missing != "" {
		return "", fmt.Errorf("query %q: no value for %s", expr, missing)
	}
	return out, nil
}
