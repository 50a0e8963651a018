package caddyfile

import (
	"slices"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// parsePassJSON reads `pass_json 4xx 5xx` or `pass_json off`; Validate
// checks the classes.
func parsePassJSON(d *caddyfile.Dispenser, m *upstreamerrors.Handler) error {
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.Errf("%s: pass_json needs status classes (4xx, 5xx) or off", Directive)
	}
	if m.PassJSON != nil {
		return d.Errf("%s: pass_json: set twice", Directive)
	}
	if slices.Contains(args, "off") {
		if len(args) > 1 {
			return d.Errf("%s: pass_json %v: off stands alone", Directive, args)
		}
		args = []string{}
	}
	m.PassJSON = &args
	return nil
}
