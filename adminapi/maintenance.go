package adminapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/certmagic"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/window"
)

func init() {
	caddy.RegisterModule(Maintenance{})
}

// Maintenance switches named maintenance windows in the storage Caddy is
// configured with, which every Caddy process sharing that storage follows:
//
//	PUT    /upstream_errors/maintenance/<window>  on; body {"until": "<RFC 3339>"} or {"for": "<duration>"}, optional
//	DELETE /upstream_errors/maintenance/<window>  off
//	GET    /upstream_errors/maintenance           every stored window, by name
//	GET    /upstream_errors/maintenance/<window>  one window
//
// Each answer says whether a handler of this process follows the window:
// a name with no such handler is still switched, since a node's admin API
// may serve a fleet whose sites run elsewhere, but a typo shows.
type Maintenance struct{}

// CaddyModule returns the Caddy module information.
func (Maintenance) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.upstream_errors_maintenance",
		New: func() caddy.Module { return new(Maintenance) },
	}
}

// MaintenancePath is where the endpoints are on the admin API.
const MaintenancePath = "/upstream_errors/maintenance"

// Routes returns the admin routes.
func (m *Maintenance) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{
		{Pattern: MaintenancePath, Handler: caddy.AdminHandlerFunc(m.serveList)},
		{Pattern: MaintenancePath + "/", Handler: caddy.AdminHandlerFunc(m.serveWindow)},
	}
}

// MaintenanceRequest is the optional body of a PUT: the announced end of
// the window, as a time or a duration from now (not both).
type MaintenanceRequest struct {
	// Until is the end as an RFC 3339 time.
	Until string `json:"until,omitempty"`
	// For is the end as a Go duration from now (`90m`, `2h`).
	For string `json:"for,omitempty"`
}

// WindowStatus is one window as the API reports it.
type WindowStatus struct {
	// Window is the window's name.
	Window string `json:"window"`
	// State is the window's stored state; nil, and left out, for a window
	// whose key could not be read or parsed.
	*window.State
	// Key is the storage key the window is kept under.
	Key string `json:"key"`
	// Followed is true when a handler of this Caddy process follows the
	// window; false for a name no site here is configured with.
	Followed bool `json:"followed"`
	// Error is why the window's key could not be read or parsed, in a
	// list; the other windows are listed as usual.
	Error string `json:"error,omitempty"`
}

// windowStatus is the API's view of the window named name in state st.
func windowStatus(name string, st window.State) WindowStatus {
	return WindowStatus{Window: name, State: &st, Key: window.Key(name), Followed: window.Followed(name)}
}

// maxRequestBody bounds a PUT's body.
const maxRequestBody = 4096

// storageTimeout bounds one call on storage.
const storageTimeout = 10 * time.Second

func (m *Maintenance) serveList(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed; GET lists the windows", r.Method)}
	}
	ctx, cancel := context.WithTimeout(r.Context(), storageTimeout)
	defer cancel()
	all, err := window.List(ctx, storage())
	if err != nil {
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: fmt.Errorf("reading windows from storage: %v", err)}
	}
	list := make([]WindowStatus, 0, len(all))
	for name, l := range all {
		ws := windowStatus(name, l.State)
		if l.Err != nil {
			ws.State, ws.Error = nil, l.Err.Error()
		}
		list = append(list, ws)
	}
	sortStatuses(list)
	return writeJSON(w, list)
}

func (m *Maintenance) serveWindow(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimPrefix(r.URL.Path, MaintenancePath+"/")
	if err := window.ValidateName(name); err != nil {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
	}
	ctx, cancel := context.WithTimeout(r.Context(), storageTimeout)
	defer cancel()
	s := storage()
	var st window.State
	switch r.Method {
	case http.MethodGet:
		var err error
		if st, err = window.Load(ctx, s, name); err != nil {
			return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: fmt.Errorf("reading window %q from storage: %v", name, err)}
		}
		return writeJSON(w, windowStatus(name, st))
	case http.MethodPut:
		now := time.Now()
		until, err := readUntil(r.Body, now)
		if err != nil {
			return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: err}
		}
		st = window.State{On: true, Until: until, Changed: now.UTC()}
	case http.MethodDelete:
		st = window.State{Changed: time.Now().UTC()}
	default:
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed; PUT turns a window on, DELETE off, GET reads it", r.Method)}
	}
	if err := window.Store(ctx, s, name, st); err != nil {
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: fmt.Errorf("writing window %q to storage: %v", name, err)}
	}
	return writeJSON(w, windowStatus(name, st))
}

// readUntil reads a PUT's optional body into the announced end; zero when
// there is none.
func readUntil(body io.Reader, now time.Time) (time.Time, error) {
	b, err := io.ReadAll(io.LimitReader(body, maxRequestBody+1))
	if err != nil {
		return time.Time{}, fmt.Errorf("reading the body: %v", err)
	}
	if len(b) > maxRequestBody {
		return time.Time{}, fmt.Errorf("the body is longer than %d bytes", maxRequestBody)
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return time.Time{}, nil
	}
	var req MaintenanceRequest
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return time.Time{}, fmt.Errorf(`the body is not valid JSON of the form {"until": "<RFC 3339 time>"} or {"for": "<duration>"}: %v`, err)
	}
	if dec.More() {
		return time.Time{}, errors.New("the body holds more than one JSON value")
	}
	switch {
	case req.Until != "" && req.For != "":
		return time.Time{}, errors.New(`give "until" or "for", not both`)
	case req.Until != "":
		t, err := time.Parse(time.RFC3339, req.Until)
		if err != nil {
			return time.Time{}, fmt.Errorf("until: %q is not an RFC 3339 time (such as 2026-05-01T18:00:00Z)", req.Until)
		}
		if !t.After(now) {
			return time.Time{}, fmt.Errorf("until: %s is in the past", req.Until)
		}
		return t, nil
	case req.For != "":
		d, err := time.ParseDuration(req.For)
		if err != nil {
			return time.Time{}, fmt.Errorf("for: %q is not a duration (such as 90m)", req.For)
		}
		if d <= 0 {
			return time.Time{}, fmt.Errorf("for: %s must be positive", req.For)
		}
		// whole seconds, rounded up, as Retry-After counts
		return now.Add(d + time.Second - 1).UTC().Truncate(time.Second), nil
	}
	return time.Time{}, nil
}

// storage is the storage of the config running, where the handlers read
// their windows; before any config, Caddy's default.
func storage() certmagic.Storage {
	ctx := caddy.ActiveContext()
	if ctx.Context == nil {
		return caddy.DefaultStorage
	}
	if s := ctx.Storage(); s != nil {
		return s
	}
	return caddy.DefaultStorage
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

func sortStatuses(list []WindowStatus) {
	slices.SortFunc(list, func(a, b WindowStatus) int { return strings.Compare(a.Window, b.Window) })
}

// Interface guard
var _ caddy.AdminRouter = (*Maintenance)(nil)
