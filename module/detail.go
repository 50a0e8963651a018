package upstreamerrors

import (
	"strings"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/taxonomy"
)

// detailFor returns the problem detail for f.
func detailFor(f failure) string {
	return taxonomy.Detail(f.cause, f.status, f.upstreamStatus, f.local)
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
