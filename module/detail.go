package upstreamerrors

import (
	"net/http"
	"strings"
)

// statusDetails are the problem details for an upstream response whose
// status is answered as is: the sentence matches the status the client
// sees, where the cause's own sentence would be too vague.
var statusDetails = map[int]string{
	http.StatusServiceUnavailable: "The upstream server is temporarily unavailable, overloaded or in maintenance.",
	http.StatusGatewayTimeout:     "The upstream server did not answer in time.",
}

// detailFor returns the problem detail for f.
func detailFor(f failure) string {
	if f.cause == CauseClientBodyIncomplete {
		return clientBodyDetail
	}
	if isClientError(f.status) {
		return clientDetail(f.status)
	}
	if f.local {
		return serverDetail(f.status)
	}
	if f.upstreamStatus != 0 && f.upstreamStatus == f.status {
		if d, ok := statusDetails[f.status]; ok {
			return d
		}
	}
	return causes[f.cause].detail
}

// proxyVia returns the Via value reverse_proxy added for itself to an
// upstream response (before the upstream's own values), or "".
func (rw *responseWriter) proxyVia() string {
	vals := rw.Header()["Via"]
	i := len(rw.beforeValues("Via"))
	if i < len(vals) && strings.HasSuffix(vals[i], " Caddy") {
		return vals[i]
	}
	return ""
}
