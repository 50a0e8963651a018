package upstreamerrors

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
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

// maxRequestIDLen bounds an echoed request ID.
const maxRequestIDLen = 128

// requestID returns the client's request ID when it is safe to echo, or
// the request's generated UUID.
func (h *Handler) requestID(r *http.Request, repl *caddy.Replacer) string {
	if v := r.Header.Get(h.RequestIDHeader); validRequestID(v) {
		return v
	}
	if repl == nil {
		return ""
	}
	id, _ := repl.GetString("http.request.uuid")
	return id
}

// validRequestID accepts IDs of visible ASCII without quotes or
// backslashes, so they are safe in any body format and in a header.
func validRequestID(s string) bool {
	if s == "" || len(s) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c == '\'' {
			return false
		}
	}
	return true
}

func itoa(n int) string { return strconv.Itoa(n) }
