package caddyfile

import (
	"errors"
	"strings"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// origins records the token each value was read from, by its JSON field
// path ("maintenance.allow") and, for a map key or list element, the path
// and the value; "" is the directive itself. The handler's Validate is the
// one place the value rules are checked, and its errors name the JSON
// field and the value: report turns one into the error at that line,
// named as the user typed it.
type origins map[string]caddyfile.Token

// note records the current token for field and for each of values. The
// first place a value was given is the one reported.
func (o origins) note(d *caddyfile.Dispenser, field string, values ...string) {
	tok := d.Token()
	for _, k := range append([]string{field}, keys(field, values)...) {
		if _, ok := o[k]; !ok {
			o[k] = tok
		}
	}
}

func keys(field string, values []string) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = field + "\x00" + v
	}
	return out
}

// typed names the JSON fields whose sub-directive is spelt differently.
var typed = map[string]string{
	"status_map":            "status",
	"disable_intercept":     "intercept",
	"templates":             "template",
	"members":               "member",
	"proxy_status_name":     "proxy_status",
	"disable_proxy_status":  "proxy_status",
	"maintenance.hold_max":  "maintenance.hold",
	"metrics.max_upstreams": "metrics.per_upstream",
}

// fieldError is what the handler's config errors tell of the value they
// are about.
type fieldError interface {
	error
	Field() string
	Value() string
	Unwrap() error
}

// report returns err, an error of the handler's Validate, at the line
// of the value it names.
func (o origins) report(err error) error {
	if err == nil {
		return nil
	}
	var path, value string
	msg := err
	for {
		var fe fieldError
		if !errors.As(msg, &fe) {
			break
		}
		path = strings.TrimPrefix(path+"."+fe.Field(), ".")
		value, msg = fe.Value(), fe.Unwrap()
	}
	tok, ok := o[path+"\x00"+value]
	if !ok {
		if tok, ok = o[path]; !ok {
			tok = o[""]
		}
	}
	name := path
	if t, ok := typed[path]; ok {
		name = t
	}
	d := caddyfile.NewDispenser([]caddyfile.Token{tok})
	d.Next()
	if name == "" {
		return d.WrapErr(err)
	}
	return d.Errf("%s: %v", strings.ReplaceAll(name, ".", ": "), msg)
}
