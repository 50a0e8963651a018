// Package placement finds the places in a Caddy JSON config where the
// upstream_errors handler cannot act: behind a handler that always answers,
// in a block with no proxy after it, or with an intercept list that leaves
// every upstream 5xx page through. Each of those adapts, validates and runs
// without a word while the upstream's pages and headers reach clients, so
// `caddy upstream-errors check` and the handler's load-time warning report
// them. A finding is reported only when the analysis is certain: a handler
// it does not know is assumed to be able to proxy and to pass requests on.
package placement

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Handler is the handler name of upstream_errors in a JSON config.
const Handler = "upstream_errors"

// Kinds of finding.
const (
	// KindUnreachable: a handler before it always answers, so it never
	// runs.
	KindUnreachable = "unreachable"
	// KindCoversNothing: nothing after it can reach an upstream.
	KindCoversNothing = "covers_nothing"
	// KindInterceptNo5xx: its intercept list names no 5xx status.
	KindInterceptNo5xx = "intercept_no_5xx"
)

// Finding is one place where the directive cannot act.
type Finding struct {
	// Kind is one of the Kind constants.
	Kind string
	// Server is the HTTP server's name in the config (srv0 for the
	// first a Caddyfile defines).
	Server string
	// Site names the site: its host matchers, or the server's listen
	// addresses for a site without one.
	Site string
	// Route describes the route the handler is in: its matchers, or
	// "every request".
	Route string
	// Path is the handler's JSON path in the config, as `caddy adapt`
	// prints it.
	Path string
	// Message says what happens and what to move where.
	Message string
}

func (f Finding) String() string {
	return fmt.Sprintf("site %s (server %s), route %s, at %s: %s", f.Site, f.Server, f.Route, f.Path, f.Message)
}

// Route is a route of the config, as caddyhttp.Route encodes it.
type Route struct {
	Group    string            `json:"group,omitempty"`
	Match    []json.RawMessage `json:"match,omitempty"`
	Handle   []json.RawMessage `json:"handle,omitempty"`
	Terminal bool              `json:"terminal,omitempty"`
}

type server struct {
	Listen      []string                  `json:"listen,omitempty"`
	Routes      []Route                   `json:"routes,omitempty"`
	Errors      *struct{ Routes []Route } `json:"errors,omitempty"`
	NamedRoutes map[string]Route          `json:"named_routes,omitempty"`
}

type config struct {
	Apps struct {
		HTTP *struct {
			Servers map[string]server `json:"servers"`
		} `json:"http"`
	} `json:"apps"`
}

// Check returns the findings of a whole Caddy JSON config, in the order
// of the config (servers by name).
func Check(cfgJSON []byte) ([]Finding, error) {
	var cfg config
	if err := json.Unmarshal(cfgJSON, &cfg); err != nil {
		return nil, fmt.Errorf("decoding config: %w", err)
	}
	if cfg.Apps.HTTP == nil {
		return nil, nil
	}
	var out []Finding
	names := make([]string, 0, len(cfg.Apps.HTTP.Servers))
	for name := range cfg.Apps.HTTP.Servers {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		srv := cfg.Apps.HTTP.Servers[name]
		w := walker{server: name, site: strings.Join(srv.Listen, ", ")}
		base := "/apps/http/servers/" + name
		w.routes(srv.Routes, base+"/routes", chain{}, "every request")
		if srv.Errors != nil {
			// in an error route the directive answers the error itself,
			// so it needs no proxy after it
			w.errorRoute = true
			w.routes(srv.Errors.Routes, base+"/errors/routes", chain{}, "every request")
			w.errorRoute = false
		}
		for _, rn := range slices.Sorted(maps.Keys(srv.NamedRoutes)) {
			// what follows an invoked route is the invoker's: unknown
			w.routes([]Route{srv.NamedRoutes[rn]}, base+"/named_routes/"+rn, chain{maybeProxy: true}, "named route "+rn)
		}
		out = append(out, w.findings...)
	}
	return out, nil
}

// chain is what may run after a list of routes ends.
type chain struct {
	// maybeProxy: a handler that can reach an upstream may run.
	maybeProxy bool
}

type walker struct {
	server     string
	site       string
	errorRoute bool
	findings   []Finding
}

type handler struct {
	name string
	raw  json.RawMessage
}

func decodeHandler(raw json.RawMessage) handler {
	var h struct {
		Handler string `json:"handler"`
	}
	_ = json.Unmarshal(raw, &h)
	return handler{name: h.Handler, raw: raw}
}

// routes walks a route list whose end is followed by after.
func (w *walker) routes(list []Route, path string, after chain, route string) {
	for i, r := range list {
		rpath := fmt.Sprintf("%s/%d", path, i)
		rdesc := route
		if d := describeMatch(r.Match); d != "" {
			rdesc = d
		}
		saved := w.site
		if hosts := matchHosts(r.Match); hosts != "" {
			w.site = hosts
		}
		blocked := earlierAlwaysAnswers(list[:i], r.Group)
		hs := make([]handler, len(r.Handle))
		for j, raw := range r.Handle {
			hs[j] = decodeHandler(raw)
		}
		// what may run after this route's handlers
		rest := chain{}
		if !r.Terminal {
			rest.maybeProxy = after.maybeProxy || laterMayProxy(list[i+1:], r.Group)
		}
		for j, h := range hs {
			hpath := fmt.Sprintf("%s/handle/%d", rpath, j)
			next := chain{maybeProxy: rest.maybeProxy || handlersMayProxy(hs[j+1:])}
			switch h.name {
			case "subroute":
				var sr struct {
					Routes []Route `json:"routes"`
				}
				_ = json.Unmarshal(h.raw, &sr)
				w.routes(sr.Routes, hpath+"/routes", next, rdesc)
			case Handler:
				w.check(h, hs[:j], blocked, next, hpath, rdesc)
			}
		}
		w.site = saved
	}
}

// check reports what keeps the upstream_errors handler h from acting.
func (w *walker) check(h handler, before []handler, blocked string, after chain, path, route string) {
	add := func(kind, msg string) {
		w.findings = append(w.findings, Finding{Kind: kind, Server: w.server, Site: w.site, Route: route, Path: path, Message: msg})
	}
	if name := firstAlwaysAnswers(before); name != "" {
		add(KindUnreachable, unreachableMessage(name))
		return
	}
	if blocked != "" {
		add(KindUnreachable, fmt.Sprintf("upstream_errors never runs: %s; move upstream_errors to the top of the site, or into that route above its handlers", blocked))
		return
	}
	if !w.errorRoute && !after.maybeProxy {
		add(KindCoversNothing, "upstream_errors covers nothing: no reverse_proxy, php_fastcgi or forward_auth runs after it in its block, and it covers only what runs after it; move it to the top of the site, or into the block with the proxy above it")
	}
	var cfg struct {
		Intercept        []string `json:"intercept"`
		DisableIntercept bool     `json:"disable_intercept"`
	}
	if json.Unmarshal(h.raw, &cfg) == nil && !cfg.DisableIntercept && len(cfg.Intercept) > 0 && InterceptNo5xx(cfg.Intercept) {
		keep := append(slices.Clone(cfg.Intercept), "5xx")
		add(KindInterceptNo5xx, fmt.Sprintf("intercept %s names no 5xx status, and a list replaces the default 5xx, so upstream 5xx pages, stack traces included, pass through; write `intercept %s` to keep replacing them", strings.Join(cfg.Intercept, " "), strings.Join(keep, " ")))
	}
}

// InterceptNo5xx reports whether an intercept list certainly names no 5xx
// status. An entry it cannot read counts as naming one: validation
// reports it.
func InterceptNo5xx(list []string) bool {
	for _, e := range list {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "5xx" {
			return false
		}
		if e == "4xx" {
			continue
		}
		hi := e
		if _, h, ok := strings.Cut(e, "-"); ok {
			hi = h
		}
		n, err := strconv.Atoi(hi)
		if err != nil || n >= 500 {
			return false
		}
	}
	return true
}

// alwaysAnswers reports whether h writes a response or returns an error
// without calling the next handler, and names it as a Caddyfile user
// knows it.
func alwaysAnswers(h handler) (string, bool) {
	switch h.name {
	case "reverse_proxy":
		var rp struct {
			Transport struct {
				Protocol string `json:"protocol"`
			} `json:"transport"`
		}
		_ = json.Unmarshal(h.raw, &rp)
		if rp.Transport.Protocol == "fastcgi" {
			return "php_fastcgi", true
		}
		return "reverse_proxy", true
	case "static_response":
		var sr struct {
			Abort   bool                `json:"abort"`
			Headers map[string][]string `json:"headers"`
		}
		_ = json.Unmarshal(h.raw, &sr)
		switch {
		case sr.Abort:
			return "abort", true
		case sr.Headers["Location"] != nil:
			return "redir", true
		}
		return "respond", true
	case "error":
		return "error", true
	case "file_server":
		var fs struct {
			PassThru bool `json:"pass_thru"`
		}
		_ = json.Unmarshal(h.raw, &fs)
		return "file_server", !fs.PassThru
	case "copy_response":
		return "copy_response", true
	}
	return "", false
}

func firstAlwaysAnswers(hs []handler) string {
	for _, h := range hs {
		if name, ok := alwaysAnswers(h); ok {
			return name
		}
	}
	return ""
}

// earlierAlwaysAnswers names an earlier route that stops every request
// before a route of group: one without matchers that always answers or
// is terminal, or one without matchers in the same group.
func earlierAlwaysAnswers(earlier []Route, group string) string {
	for k, r := range earlier {
		if len(r.Match) > 0 {
			continue
		}
		if group != "" && r.Group == group {
			return fmt.Sprintf("an earlier route (%d) of the same group matches every request, so this one is never chosen", k)
		}
		hs := make([]handler, len(r.Handle))
		for j, raw := range r.Handle {
			hs[j] = decodeHandler(raw)
		}
		if name := firstAlwaysAnswers(hs); name != "" {
			return fmt.Sprintf("an earlier route (%d) matches every request and its %s always answers", k, name)
		}
		if r.Terminal {
			return fmt.Sprintf("an earlier route (%d) matches every request and is terminal", k)
		}
	}
	return ""
}

// neverProxies are handlers that cannot reach an upstream and hold no
// routes of their own.
var neverProxies = map[string]bool{
	Handler: true, "static_response": true, "file_server": true, "error": true, "headers": true,
	"rewrite": true, "vars": true, "map": true, "encode": true, "templates": true,
	"request_body": true, "authentication": true, "push": true, "metrics": true,
	"copy_response": true, "copy_response_headers": true, "tracing": true, "log_append": true,
	"acme_server": true, "log_skip": true,
}

// handlersMayProxy reports whether one of hs may reach an upstream.
func handlersMayProxy(hs []handler) bool {
	for _, h := range hs {
		if h.name == "subroute" {
			var sr struct {
				Routes []Route `json:"routes"`
			}
			_ = json.Unmarshal(h.raw, &sr)
			if laterMayProxy(sr.Routes, "") {
				return true
			}
			continue
		}
		if !neverProxies[h.name] {
			return true
		}
	}
	return false
}

// laterMayProxy reports whether a route of list, not skipped for being in
// group, may reach an upstream.
func laterMayProxy(list []Route, group string) bool {
	for _, r := range list {
		if group != "" && r.Group == group {
			continue // the group's chosen route has run
		}
		hs := make([]handler, len(r.Handle))
		for j, raw := range r.Handle {
			hs[j] = decodeHandler(raw)
		}
		if handlersMayProxy(hs) {
			return true
		}
	}
	return false
}

// matchHosts returns the host matchers of a matcher list, or "".
func matchHosts(sets []json.RawMessage) string {
	var hosts []string
	for _, raw := range sets {
		var m struct {
			Host []string `json:"host"`
		}
		if json.Unmarshal(raw, &m) == nil {
			hosts = append(hosts, m.Host...)
		}
	}
	return strings.Join(hosts, ", ")
}

// describeMatch describes a route's matchers briefly, such as
// `path /api/*`, or "" for none.
func describeMatch(sets []json.RawMessage) string {
	var parts []string
	for _, raw := range sets {
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if k == "host" {
				continue
			}
			var vals []string
			if json.Unmarshal(m[k], &vals) == nil {
				parts = append(parts, k+" "+strings.Join(vals, " "))
			} else {
				parts = append(parts, k+" matcher")
			}
		}
	}
	return strings.Join(parts, ", ")
}

// InRoute returns why the upstream_errors handler at index of a route's
// handler list never runs, or "": a handler before it in the route always
// answers. It is what the handler can be certain of while it is loaded,
// as it sees its own route only.
func InRoute(handlers []json.RawMessage, index int) string {
	if index < 0 || index > len(handlers) {
		return ""
	}
	hs := make([]handler, index)
	for j := range index {
		hs[j] = decodeHandler(handlers[j])
	}
	if name := firstAlwaysAnswers(hs); name != "" {
		return unreachableMessage(name)
	}
	return ""
}

// Positions returns the indexes of the upstream_errors handlers in a
// route's handler list.
func Positions(handlers []json.RawMessage) []int {
	var at []int
	for j, raw := range handlers {
		if decodeHandler(raw).name == Handler {
			at = append(at, j)
		}
	}
	return at
}

func unreachableMessage(name string) string {
	return fmt.Sprintf("upstream_errors never runs: %s before it in the same route always answers, so upstream failures and error pages reach clients as stock Caddy sends them; move upstream_errors above %s in this route, or to the top of the site", name, name)
}
