package upstreamerrors

import (
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// placeholderPrefix starts every placeholder the module sets.
const placeholderPrefix = "http.upstream_errors."

// placeholders serves the module's placeholders for one normalized
// response. One provider answering on demand costs less than a Set per
// value, most of which no config ever reads.
type placeholders struct{ v bodyValues }

// get answers one placeholder.
func (p *placeholders) get(key string) (any, bool) {
	name, ok := strings.CutPrefix(key, placeholderPrefix)
	if !ok {
		return nil, false
	}
	switch name {
	case "status":
		return p.v.Status, true
	case "class":
		return p.v.Class, true
	case "cause":
		return p.v.Cause, true
	case "title":
		return p.v.Title, true
	case "detail":
		return p.v.Detail, true
	case "type":
		return p.v.Type, true
	case "instance":
		return p.v.Instance, true
	case "request_id":
		return p.v.RequestID, true
	}
	return nil, false
}

// setPlaceholders makes v readable as placeholders. A request normalized
// twice (nested handlers) gets static values, which Caddy reads before
// any provider, so the latest response wins.
func setPlaceholders(repl *caddy.Replacer, v *bodyValues) {
	if repl == nil {
		return
	}
	if _, done := repl.Get(placeholderPrefix + "status"); !done {
		p := &placeholders{v: *v}
		repl.Map(p.get)
		return
	}
	repl.Set(placeholderPrefix+"status", v.Status)
	repl.Set(placeholderPrefix+"class", v.Class)
	repl.Set(placeholderPrefix+"cause", v.Cause)
	repl.Set(placeholderPrefix+"title", v.Title)
	repl.Set(placeholderPrefix+"detail", v.Detail)
	repl.Set(placeholderPrefix+"type", v.Type)
	repl.Set(placeholderPrefix+"instance", v.Instance)
	repl.Set(placeholderPrefix+"request_id", v.RequestID)
}
