package upstreamerrors

import (
	"net/http"

	"github.com/google/uuid"
	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// maxRequestIDLen bounds an echoed request ID.
const maxRequestIDLen = 128

// uuidVar is where Caddy keeps the request's {http.request.uuid} once made.
const uuidVar = "uuid"

// requestID returns the client's request ID when it is safe to echo, or
// the request's UUID.
//
// Caddy makes {http.request.uuid} on first use and stores it in the
// request's vars, a map without a lock. When the module answers, a dial
// that net/http started for this request may still run in the background,
// and reverse_proxy's dialer reads that map: storing into it then is a
// concurrent map write, which ends the whole process. So the module uses
// the UUID when something already made it and otherwise makes one itself,
// without touching the map, and gives it to Caddy's access log (its
// `uuid` field) as {http.request.uuid} would.
func (h *Handler) requestID(r *http.Request, repl *caddy.Replacer) string {
	if v := r.Header.Get(h.RequestIDHeader); validRequestID(v) {
		return v
	}
	if repl == nil {
		return ""
	}
	if caddyhttp.GetVar(r.Context(), uuidVar) != nil {
		id, _ := repl.GetString("http.request.uuid")
		return id
	}
	u, err := uuid.NewRandom()
	if err != nil {
		return ""
	}
	id := u.String()
	if extra, ok := r.Context().Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields); ok {
		extra.Set(zap.String("uuid", id))
	}
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
