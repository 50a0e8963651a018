package adminapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/recent"
)

func init() {
	caddy.RegisterModule(Recent{})
}

// RecentPath is the endpoint of the last failures answered.
const RecentPath = "/upstream_errors/recent"

// Recent serves GET /upstream_errors/recent: the last failures this
// process answered, newest first, as a JSON array. Each has the time,
// server, host, method, path (without its query string, which can carry
// tokens), status, cause, upstream, upstream status, request ID,
// duration in seconds and error text. `?limit=N` returns at most N;
// `?cause=X` only those of cause X. How many are kept is the handlers'
// `recent` setting.
type Recent struct{}

// CaddyModule returns the Caddy module information.
func (Recent) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.upstream_errors_recent",
		New: func() caddy.Module { return new(Recent) },
	}
}

// Routes returns the endpoint's route.
func (r *Recent) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: RecentPath, Handler: caddy.AdminHandlerFunc(r.serve)}}
}

// serve answers a request for the recent failures.
func (*Recent) serve(w http.ResponseWriter, req *http.Request) error {
	if req.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed; use GET", req.Method)}
	}
	q := req.URL.Query()
	limit := 0
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("limit: %q is not a positive number", v)}
		}
		limit = n
	}
	cause := q.Get("cause")
	if cause != "" && !validCause(cause) {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("cause: %q is not a cause code (such as connection_refused)", cause)}
	}
	out := recent.List(limit, cause)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(out)
}

// validCause accepts the shape of a cause code: lower-case letters,
// digits and underscores.
func validCause(s string) bool {
	if len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '_' {
			return false
		}
	}
	return true
}

// Interface guard
var _ caddy.AdminRouter = (*Recent)(nil)
