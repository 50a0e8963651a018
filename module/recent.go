package upstreamerrors

import (
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/recent"
)

// DefaultRecent is how many of the last failures the process keeps for
// the admin API's /upstream_errors/recent by default.
const DefaultRecent = recent.Default

// registerRecent sizes the process's ring of recent failures for a
// provisioned handler.
func (h *Handler) registerRecent() { recent.Register(h, h.Recent) }

// unregisterRecent lets the ring shrink once a reload has cleaned up h.
func (h *Handler) unregisterRecent() { recent.Unregister(h) }

// recordRecent writes f into the ring of recent failures.
func recordRecent(r *http.Request, f *failure, server, upstream string) {
	e := recent.Entry{
		At:             time.Now(),
		Server:         server,
		Cause:          f.cause,
		Status:         f.status,
		UpstreamStatus: f.upstreamStatus,
		Host:           r.Host,
		Method:         r.Method,
		Upstream:       upstream,
		RequestID:      f.requestID,
		Error:          f.errText,
	}
	if start, ok := caddyhttp.GetVar(r.Context(), "start_time").(time.Time); ok {
		e.Duration = e.At.Sub(start)
	}
	e.Path, _ = originalURI(r)
	e.Queries[1] = r.URL.RawQuery
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		e.Queries[0] = orig.URL.RawQuery
	}
	if e.Error == "" && f.err != nil {
		e.Error = f.err.Error()
	}
	recent.Record(&e)
}

// validateRecent checks the size of the buffer of recent failures; 0
// means the default.
func validateRecent(n int) error {
	if n < 0 || n > recent.Max {
		return fmt.Errorf("%d must be between 1 and %d", n, recent.Max)
	}
	return nil
}
