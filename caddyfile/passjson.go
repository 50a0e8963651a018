package caddyfile

import (
	"slices"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// parsePassJSON reads `pass_json 4xx 5xx` or `pass_json off`; Validate
// checks the classes.
func parsePassJSON(d *caddyfile.Dispenser, m *upstreamerrors.Handler, at origins) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.Err("pass_json needs status classes (4xx, 5xx) or off")
	}
	if m.PassJSON != nil {
		return d.Err("pass_json: set twice; give it once")
	}
	if slices.Contains(args, "off") {
		if len(args) > 1 {
			return d.Errf("pass_json: off cannot be combined with classes %q", slices.DeleteFunc(args, func(a string) bool { return a == "off" }))
		}
		args = []string{}
	}
	at.note(d, "pass_json", args...)
	m.PassJSON = &args
	return nil
}
