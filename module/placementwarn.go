package upstreamerrors

import (
	"sync"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/placement"
)

// routeSeen counts the upstream_errors handlers of a route loaded so far,
// to tell which of them is being provisioned; an entry goes when its
// route's last one is loaded.
var routeSeen = struct {
	sync.Mutex
	n map[*caddyhttp.Route]int
}{n: map[*caddyhttp.Route]int{}}

// warnUnreachable logs at load a handler that never runs because a
// handler before it in its route always answers (`route { reverse_proxy
// ...; upstream_errors }`): the config runs, and upstream pages, stack
// traces and cookies reach clients. `caddy upstream-errors check` reports
// every other place where the directive cannot act; this is the part the
// handler is certain of from its own route.
//
// Caddy loads a route's handlers in order from its raw list and clears
// the list only after the last one, so while this handler is provisioned
// its parent subroute's first route with raw handlers is its own.
func (h *Handler) warnUnreachable(ctx caddy.Context) {
	mods := ctx.Modules()
	if len(mods) < 2 {
		return
	}
	sr, ok := mods[len(mods)-2].(*caddyhttp.Subroute)
	if !ok {
		return
	}
	var route *caddyhttp.Route
	for i := range sr.Routes {
		if sr.Routes[i].HandlersRaw != nil {
			route = &sr.Routes[i]
			break
		}
	}
	if route == nil {
		return
	}
	at := placement.Positions(route.HandlersRaw)
	if len(at) == 0 {
		return
	}
	routeSeen.Lock()
	k := routeSeen.n[route]
	if k+1 >= len(at) {
		delete(routeSeen.n, route)
	} else {
		routeSeen.n[route] = k + 1
	}
	routeSeen.Unlock()
	if k >= len(at) {
		return
	}
	if msg := placement.InRoute(route.HandlersRaw, at[k]); msg != "" {
		h.logger.Warn(msg,
			zap.Int("route_position", at[k]),
			zap.String("check", "caddy upstream-errors check --config <file> reports every place where the directive cannot act"),
		)
	}
}
