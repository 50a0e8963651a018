package upstreamerrors

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
)

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
