package upstreamerrors

import (
	"encoding/json"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/placement"
)

// coveredUpstreams returns the upstreams whose failures h answers and
// whose names are known before any request: the static upstreams of the
// reverse_proxy handlers after h in its route and in the later routes of
// its route list, in nested subroutes (handle, route) and handle_response
// routes too, named as reverse_proxy names them in
// {http.reverse_proxy.upstream.hostport}. Dynamic upstreams and dial
// addresses with placeholders are known only per request.
//
// Caddy provisions a route list's handlers in order and clears a route's
// raw handlers only after its last one, so while h is provisioned its own
// route is the first of its list that still has them, and the routes
// after it are raw JSON yet. A handler in handle_errors or a named route,
// provisioned once every main route is, covers nothing here: in an error
// route it answers the error and calls nothing after it.
func coveredUpstreams(ctx caddy.Context) []string {
	srv, ok := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if !ok || srv == nil || firstRawRoute(srv.Routes) < 0 {
		return nil
	}
	mods := ctx.Modules()
	if len(mods) < 2 {
		return nil
	}
	var list caddyhttp.RouteList
	switch p := mods[len(mods)-2].(type) {
	case *caddyhttp.Subroute:
		list = p.Routes
	case *caddyhttp.App:
		list = srv.Routes
	default:
		return nil
	}
	i := firstRawRoute(list)
	if i < 0 {
		return nil
	}
	own := list[i]
	at := placement.Positions(own.HandlersRaw)
	if len(at) == 0 {
		return nil
	}
	var c dialCollector
	c.handlers(own.HandlersRaw[at[0]+1:], 0)
	if !own.Terminal {
		for _, r := range list[i+1:] {
			// a later route of the same group never runs once this one did
			if own.Group != "" && r.Group == own.Group {
				continue
			}
			c.handlers(r.HandlersRaw, 0)
		}
	}
	return c.names
}

// firstRawRoute returns the index of the first route of list whose
// handlers are not loaded yet, or -1.
func firstRawRoute(list caddyhttp.RouteList) int {
	for i := range list {
		if list[i].HandlersRaw != nil {
			return i
		}
	}
	return -1
}

// maxRouteDepth bounds the nesting followed, far beyond any real config.
const maxRouteDepth = 32

// dialCollector gathers the distinct upstream names of raw handlers.
type dialCollector struct {
	names []string
	seen  map[string]bool
}

// rawRoutes are routes as JSON, of which only the handlers are read.
type rawRoutes []struct {
	Handle []json.RawMessage `json:"handle"`
}

// handlers adds the static upstreams of a raw handler list, following
// subroutes and response routes.
func (c *dialCollector) handlers(list []json.RawMessage, depth int) {
	if depth > maxRouteDepth {
		return
	}
	for _, raw := range list {
		var h struct {
			Handler   string `json:"handler"`
			Upstreams []struct {
				Dial string `json:"dial"`
			} `json:"upstreams"`
			Dynamic        json.RawMessage `json:"dynamic_upstreams"`
			Routes         rawRoutes       `json:"routes"`
			HandleResponse []struct {
				Routes rawRoutes `json:"routes"`
			} `json:"handle_response"`
		}
		if json.Unmarshal(raw, &h) != nil {
			continue // Caddy reports it when it loads the handler
		}
		switch h.Handler {
		case "subroute":
			for _, r := range h.Routes {
				c.handlers(r.Handle, depth+1)
			}
		case "reverse_proxy":
			// with dynamic upstreams, the static ones are a fallback
			if h.Dynamic == nil {
				for _, u := range h.Upstreams {
					c.add(upstreamName(u.Dial))
				}
			}
		}
		for _, hr := range h.HandleResponse {
			for _, r := range hr.Routes {
				c.handlers(r.Handle, depth+1)
			}
		}
	}
}

func (c *dialCollector) add(name string) {
	if name == "" || c.seen[name] {
		return
	}
	if c.seen == nil {
		c.seen = make(map[string]bool)
	}
	c.seen[name] = true
	c.names = append(c.names, name)
}

// upstreamName returns the name reverse_proxy gives the upstream dialed at
// dial in {http.reverse_proxy.upstream.hostport}, as its fillDialInfo
// makes it, or "" for an address known only per request (a placeholder)
// or that is not one socket, which the proxy refuses to dial.
func upstreamName(dial string) string {
	if dial == "" || strings.Contains(dial, "{") {
		return ""
	}
	addr, err := caddy.ParseNetworkAddress(dial)
	if err != nil || addr.PortRangeSize() != 1 {
		return ""
	}
	return addr.JoinHostPort(0)
}
