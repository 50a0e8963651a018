package upstreamerrors

import (
	"net/http"
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

// originalURI returns the path (escaped) and the request URI as the client
// sent them, before any rewrite or prefix strip. The path is the problem's
// instance; the query is left out of it since it may carry secrets.
func originalURI(r *http.Request) (path, requestURI string) {
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		return orig.URL.EscapedPath(), orig.RequestURI
	}
	return r.URL.EscapedPath(), r.RequestURI
}
