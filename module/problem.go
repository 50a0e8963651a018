package upstreamerrors

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// problemType returns the problem type URI for cause.
func (h *Handler) problemType(cause string) string {
	if strings.HasSuffix(h.Type, "/") || strings.HasSuffix(h.Type, "#") {
		return h.Type + cause
	}
	return h.Type
}

// instance is the path the client asked for, as it sent it (escaped),
// before any rewrite; the query is left out since it may carry secrets.
func instance(r *http.Request) string {
	return originalRequest(r).URL.EscapedPath()
}

// originalRequest returns the request as the client sent it, before any
// rewrite or prefix strip.
func originalRequest(r *http.Request) *http.Request {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		return &orig
	}
	return r
}

func itoa(n int) string { return strconv.Itoa(n) }
