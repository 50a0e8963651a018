// Package caddyfile registers the upstream_errors Caddyfile directive.
//
// Syntax:
//
//	upstream_errors [<matcher>] {
//		status            <cause|timeout|upstream status|5xx> <5xx status>
//		intercept         <status|range|class>... | off
//		pass_json         4xx|5xx... | off
//		retry_after       <duration|seconds>
//		keep_headers      <field>...
//		discard_limit     <size>
//		type              <uri>
//		request_id_header <field>
//		format            problem|json|html|text
//		template          <format> file <path> | inline <text>
//		member            <name> <value>
//		proxy_status      <name> | off
//	}
package caddyfile

import (
	"strconv"
	"time"

	"github.com/dustin/go-humanize"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// Directive is the directive's name.
const Directive = "upstream_errors"

func init() {
	httpcaddyfile.RegisterHandlerDirective(Directive, parseCaddyfile)
	// it must wrap the proxy, so it sorts before it with no `order` line
	httpcaddyfile.RegisterDirectiveOrder(Directive, httpcaddyfile.Before, "reverse_proxy")
}

// parseCaddyfile builds the handler from a directive's tokens.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(upstreamerrors.Handler)
	if err := Unmarshal(h.Dispenser, m); err != nil {
		return nil, err
	}
	return m, nil
}

// Unmarshal fills m from the directive's tokens and validates the result,
// so a bad value fails at adapt time with its file and line.
func Unmarshal(d *caddyfile.Dispenser, m *upstreamerrors.Handler) error {
	d.Next() // consume directive name
	if d.NextArg() {
		return d.Errf("%s: unexpected argument %q; settings go in a block", Directive, d.Val())
	}
	for d.NextBlock(0) {
		sub := d.Val()
		switch sub {
		case "status":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Errf("%s: status takes a key and a status, as in `status connection_refused 503`", Directive)
			}
			n, err := strconv.Atoi(args[1])
			if err != nil {
				return d.Errf("%s: status %s: %q is not a status code", Directive, args[0], args[1])
			}
			if m.StatusMap == nil {
				m.StatusMap = make(map[string]int)
			}
			if _, dup := m.StatusMap[args[0]]; dup {
				return d.Errf("%s: status %s: mapped twice", Directive, args[0])
			}
			m.StatusMap[args[0]] = n

		case "intercept":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Errf("%s: intercept needs statuses (such as 5xx, 500-504, 503) or off", Directive)
			}
			if len(args) == 1 && args[0] == "off" {
				m.DisableIntercept = true
				m.Intercept = nil
				continue
			}
			m.Intercept = append(m.Intercept, args...)

		case "pass_json":
			if err := parsePassJSON(d, m); err != nil {
				return err
			}

		case "retry_after":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			dur, err := parseSeconds(arg)
			if err != nil {
				return d.Errf("%s: retry_after %q: not a duration (such as 30s) or a number of seconds", Directive, arg)
			}
			m.RetryAfter = caddy.Duration(dur)

		case "keep_headers":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Errf("%s: keep_headers needs at least one header field", Directive)
			}
			m.KeepHeaders = append(m.KeepHeaders, args...)

		case "discard_limit":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			size, err := humanize.ParseBytes(arg)
			if err != nil {
				return d.Errf("%s: discard_limit %q: not a size (such as 64KiB)", Directive, arg)
			}
			m.DiscardLimit = int64(size)

		case "type":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			m.Type = arg

		case "request_id_header":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			m.RequestIDHeader = arg

		case "format":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			m.Format = arg

		case "template":
			args := d.RemainingArgs()
			if len(args) != 3 || (args[1] != "file" && args[1] != "inline") {
				return d.Errf("%s: template takes a format, then `file <path>` or `inline <text>`", Directive)
			}
			if m.Templates == nil {
				m.Templates = make(map[string]*upstreamerrors.Template)
			}
			if _, dup := m.Templates[args[0]]; dup {
				return d.Errf("%s: template %s: set twice", Directive, args[0])
			}
			t := new(upstreamerrors.Template)
			if args[1] == "file" {
				t.File = args[2]
			} else {
				t.Inline = args[2]
			}
			m.Templates[args[0]] = t

		case "member":
			args := d.RemainingArgs()
			if len(args) != 2 {
				return d.Errf("%s: member takes a name and a value", Directive)
			}
			if m.Members == nil {
				m.Members = make(map[string]string)
			}
			m.Members[args[0]] = args[1]

		case "proxy_status":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			if arg == "off" {
				m.DisableProxyStatus = true
			} else {
				m.ProxyStatusName = arg
			}

		default:
			return d.Errf("%s: unknown subdirective %q", Directive, sub)
		}
	}
	if err := m.Validate(); err != nil {
		return d.Errf("%s: %v", Directive, err)
	}
	return nil
}

// oneArg returns the single argument of the current subdirective.
func oneArg(d *caddyfile.Dispenser) (string, error) {
	sub := d.Val()
	args := d.RemainingArgs()
	if len(args) != 1 {
		return "", d.Errf("%s: %s takes exactly one value, got %d", Directive, sub, len(args))
	}
	return args[0], nil
}

// parseSeconds reads a duration, taking a bare number as seconds the way
// Retry-After itself counts.
func parseSeconds(s string) (time.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil {
		return time.Duration(n) * time.Second, nil
	}
	return caddy.ParseDuration(s)
}
