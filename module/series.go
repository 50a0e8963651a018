package upstreamerrors

// initSeries creates at 0 the series of caddy_http_upstream_errors_total
// that this handler can count in server: each cause it answers, with the
// status that cause maps to; and those of the client counter. A counter that appears only with its first
// failure leaves rate() and ratios without data until then, so an alert
// cannot tell "no errors" from "not scraped"; Prometheus' guidance for
// labelled counters is to export them at 0 from the start. The metric is
// process-wide, so a reload keeps every series and its count.
func (h *Handler) initSeries(server string) {
	h.answeredSeries(func(status int, cause string) { counter(server, status, cause) })
	for cause := range clientCauses {
		clientCounter(server, cause)
	}
}

// answeredSeries calls fn with each upstream cause this handler can
// answer and the status it answers it with; a status may come more than
// once.
func (h *Handler) answeredSeries(fn func(status int, cause string)) {
	for cause := range causes {
		switch cause {
		case causeMaintenance:
			if h.Maintenance == nil {
				continue
			}
		case causeHTTPResponseStatus:
			// an upstream status is replaced by what it maps to: the
			// default table keeps 502, 503 and 504 and makes the rest 502
			for s := 500; s <= 599; s++ {
				if h.intercepts(s) {
					fn(h.statusForUpstream(s), cause)
				}
			}
			continue
		}
		fn(h.statusForCause(cause), cause)
	}
}
