package adminapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/recent"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/suggest"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/taxonomy"
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
// duration in seconds and error text. `?limit=N` returns at most N (a
// whole number from 1; one past the buffer's size returns all of it);
// `?cause=X` only those of cause X, one of the causes the module counts in
// caddy_http_upstream_errors_total. A bad value is answered 400, saying
// why. How many are kept is the handlers' `recent` setting.
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
	limit, err := parseLimit(q.Get("limit"))
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	}
	cause := q.Get("cause")
	if err := checkCause(cause); err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	}
	out := recent.List(limit, cause)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return json.NewEncoder(w).Encode(out)
}

// parseLimit reads ?limit: any whole number from 1 up, a larger one than
// the buffer can hold meaning all of it; "" means all.
func parseLimit(v string) (int, error) {
	if v == "" {
		return 0, nil
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, fmt.Errorf("limit: %q is not a whole number; want 1 or more", v)
		}
	}
	n, err := strconv.ParseUint(v, 10, 64)
	switch {
	case err != nil || n > recent.Max:
		// only digits: too large for any buffer, so every failure kept
		return recent.Max, nil
	case n == 0:
		return 0, fmt.Errorf("limit: %q lists nothing; want 1 or more", v)
	}
	return int(n), nil
}

// listedCauses are the causes a recent failure can have: every cause
// caddy_http_upstream_errors_total counts. The client's own causes are
// counted apart and never listed.
var listedCauses = func() []string {
	var out []string
	for _, c := range taxonomy.Table {
		if c.Class != taxonomy.Client {
			out = append(out, c.Name)
		}
	}
	return out
}()

// checkCause accepts "" or a cause a recent failure can have, so a typo
// is not answered with an empty list that reads as "no failures".
func checkCause(cause string) error {
	if cause == "" || slices.Contains(listedCauses, cause) {
		return nil
	}
	if c, ok := taxonomy.Lookup(cause); ok && c.Class == taxonomy.Client {
		return fmt.Errorf("cause: %q is the client's doing, which is not listed here; caddy_http_upstream_errors_client_total counts it", cause)
	}
	if len(cause) > 64 {
		cause = cause[:64] + "…"
	}
	return fmt.Errorf("cause: %q is not a cause%s", cause, suggest.Hint(cause, listedCauses, "causes listed", listedCauses))
}

// Interface guard
var _ caddy.AdminRouter = (*Recent)(nil)
