package upstreamerrors

import (
	"strings"

	"github.com/caddyserver/caddy/v2"
)

// placeholderPrefix starts every placeholder the module sets.
const placeholderPrefix = "http.upstream_errors."

// placeholder answers one of the module's placeholders from v. One
// provider answering on demand costs less than a Set per value, most of
// which no config ever reads.
func (v bodyValues) placeholder(key string) (any, bool) {
	name, ok := strings.CutPrefix(key, placeholderPrefix)
	if !ok {
		return nil, false
	}
	switch name {
	case "status":
		return v.Status, true
	case "class":
		return v.Class, true
	case "cause":
		return v.Cause, true
	case "title":
		return v.Title, true
	case "detail":
		return v.Detail, true
	case "type":
		return v.Type, true
	case "instance":
		return v.Instance, true
	case "request_id":
		return v.RequestID, true
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
		// the method value holds its own copy of v: one allocation, where
		// a pointer to a copy would be a second
		repl.Map(v.placeholder)
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
