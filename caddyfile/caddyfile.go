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
//		maintenance       [<file>] [{ window <name>; allow <ip|cidr>...; bypass <matcher>...; hold <duration> [<max>] }]
//		metrics           per_upstream [<max>]
//		recent            <n>
//	}
//
// The parsing stands apart from the handler on purpose. Caddy's own modules
// give the handler an UnmarshalCaddyfile method, but a method lives with its
// type, which would pull Caddyfile code into the handler package; here
// module/ knows only its JSON config and this package is a thin adapter
// from tokens to that config. It reports syntax where it reads it; the
// value rules are the handler's Validate alone, which it runs on the
// block it read, reporting an error under the sub-directive the user typed
// and at the line the value came from (see origins).
package caddyfile

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
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
	// It must wrap every handler that can reach an upstream: forward_auth
	// is the first of those in Caddy's order, before handle, handle_path,
	// route, reverse_proxy and php_fastcgi, so one directive at the top of
	// a site covers all of them. It still sorts after header, request_body,
	// redir and the rewrites, which only set the site's own response
	// fields or shape the request.
	httpcaddyfile.RegisterDirectiveOrder(Directive, httpcaddyfile.Before, "forward_auth")
}

// parseCaddyfile builds the handler from a directive's tokens.
func parseCaddyfile(h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	m := new(upstreamerrors.Handler)
	if err := unmarshal(h.Dispenser, m, h.MatcherToken); err != nil {
		return nil, err
	}
	return m, nil
}

// Unmarshal fills m from the directive's tokens and checks the result with
// m.Validate, so a bad value fails at adapt time with the line it is on.
// Template files are not read here: Provision reads them.
func Unmarshal(d *caddyfile.Dispenser, m *upstreamerrors.Handler) error {
	return unmarshal(d, m, pathMatcherToken(d))
}

// unmarshal is Unmarshal with the site's matchers, for bypass.
func unmarshal(d *caddyfile.Dispenser, m *upstreamerrors.Handler, matcher matcherToken) error {
	d.Next() // consume directive name
	at := origins{"": d.Token()}
	if d.NextArg() {
		return d.Errf("unexpected argument %q; settings go in a block", d.Val())
	}
	if err := readBlock(d, m, matcher, at); err != nil {
		return err
	}
	return at.report(m.Validate())
}

// readBlock reads the directive's block into m, noting in at where each
// value came from.
func readBlock(d *caddyfile.Dispenser, m *upstreamerrors.Handler, matcher matcherToken, at origins) error {
	seen := make(map[string]bool)
	for d.NextBlock(0) {
		sub := d.Val()
		switch sub {
		case "retry_after", "discard_limit", "type", "request_id_header", "format", "recent":
			if seen[sub] {
				return d.Errf("%s: set twice; give it once", sub)
			}
			seen[sub] = true
		}
		switch sub {
		case "status":
			var key, val string
			if !d.AllArgs(&key, &val) {
				return d.Errf("status takes a key and a status, as in `status connection_refused 503`")
			}
			n, err := strconv.Atoi(val)
			if err != nil {
				return d.Errf("status: %q is not a status code; it must be 500-599", val)
			}
			if _, dup := m.StatusMap[key]; dup {
				return d.Errf("status: %q is mapped twice", key)
			}
			at.note(d, "status_map", key)
			if m.StatusMap == nil {
				m.StatusMap = make(map[string]int)
			}
			m.StatusMap[key] = n

		case "intercept":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Errf("intercept needs statuses (such as 5xx, 500-504, 503) or off")
			}
			statuses := slices.DeleteFunc(slices.Clone(args), func(a string) bool { return a == "off" })
			if off := len(statuses) < len(args); off || m.DisableIntercept {
				if all := append(slices.Clone(m.Intercept), statuses...); len(all) > 0 {
					return d.Errf("intercept: off cannot be combined with statuses %q", all)
				}
				m.DisableIntercept = true
				continue
			}
			at.note(d, "intercept", statuses...)
			m.Intercept = append(m.Intercept, args...)

		case "pass_json":
			if err := parsePassJSON(d, m, at); err != nil {
				return err
			}

		case "retry_after":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			dur, err := parseSeconds(arg)
			if err != nil {
				return d.Errf("retry_after: %v", err)
			}
			if dur == 0 {
				return d.Errf("retry_after: 0 is not allowed; a 503 asks for a wait of at least 1s (leave retry_after out for the default, %s)", upstreamerrors.DefaultRetryAfter)
			}
			at.note(d, "retry_after")
			m.RetryAfter = caddy.Duration(dur)

		case "keep_headers":
			args := d.RemainingArgs()
			if len(args) == 0 {
				return d.Errf("keep_headers needs at least one header field")
			}
			at.note(d, "keep_headers", args...)
			m.KeepHeaders = append(m.KeepHeaders, args...)

		case "discard_limit":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			size, err := humanize.ParseBytes(arg)
			if err != nil {
				return d.Errf("discard_limit: %q is not a size (such as 64KiB)", arg)
			}
			if size > math.MaxInt64 {
				return d.Errf("discard_limit: %q is too large", arg)
			}
			if size == 0 {
				return d.Errf("discard_limit: 0 is not allowed; give at least 1B (leave discard_limit out for the default, %dKiB)", upstreamerrors.DefaultDiscardLimit>>10)
			}
			at.note(d, "discard_limit")
			m.DiscardLimit = int64(size)

		case "type":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			at.note(d, "type")
			m.Type = arg

		case "request_id_header":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			at.note(d, "request_id_header")
			m.RequestIDHeader = arg

		case "format":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			at.note(d, "format")
			m.Format = arg

		case "template":
			var format, kind, text string
			if !d.AllArgs(&format, &kind, &text) || kind != "file" && kind != "inline" {
				return d.Errf("template takes a format, then `file <path>` or `inline <text>`")
			}
			if _, dup := m.Templates[format]; dup {
				return d.Errf("template: %s set twice", format)
			}
			t := new(upstreamerrors.Template)
			if kind == "file" {
				t.File = text
			} else {
				t.Inline = text
			}
			at.note(d, "templates", format)
			if m.Templates == nil {
				m.Templates = make(map[string]*upstreamerrors.Template)
			}
			m.Templates[format] = t

		case "member":
			var name, value string
			if !d.AllArgs(&name, &value) {
				return d.Errf("member takes a name and a value")
			}
			if _, dup := m.Members[name]; dup {
				return d.Errf("member: %q set twice", name)
			}
			at.note(d, "members", name)
			if m.Members == nil {
				m.Members = make(map[string]string)
			}
			m.Members[name] = value

		case "proxy_status":
			arg, err := oneArg(d)
			if err != nil {
				return err
			}
			if (arg == "off") != m.DisableProxyStatus && (m.DisableProxyStatus || m.ProxyStatusName != "") {
				return d.Errf("proxy_status: off cannot be combined with a name")
			}
			if m.DisableProxyStatus || m.ProxyStatusName != "" {
				return d.Errf("proxy_status: set twice; give it once")
			}
			if arg == "off" {
				m.DisableProxyStatus = true
				continue
			}
			at.note(d, "proxy_status_name")
			m.ProxyStatusName = arg

		case "maintenance":
			if err := parseMaintenance(d, m, matcher, at); err != nil {
				return err
			}

		case "metrics":
			if err := parseMetrics(d, m, at); err != nil {
				return err
			}

		case "recent":
			if err := parseRecent(d, m, at); err != nil {
				return err
			}

		default:
			return unknownSubdirective(d, sub)
		}
	}
	return nil
}

// matcherToken reads the next argument as a matcher token, as
// httpcaddyfile.Helper.MatcherToken does.
type matcherToken func() (caddy.ModuleMap, bool, error)

// pathMatcherToken reads a path matcher token; outside a site there are no
// named matchers to refer to.
func pathMatcherToken(d *caddyfile.Dispenser) matcherToken {
	return func() (caddy.ModuleMap, bool, error) {
		if !d.NextArg() {
			return nil, false, nil
		}
		tok := d.Val()
		if strings.HasPrefix(tok, "@") {
			return nil, false, fmt.Errorf("named matcher %s needs the site it is defined in", tok)
		}
		if !strings.HasPrefix(tok, "/") {
			return nil, false, nil
		}
		raw, err := json.Marshal(caddyhttp.MatchPath{tok})
		return caddy.ModuleMap{"path": raw}, true, err
	}
}

// parseMaintenance reads
//
//	maintenance [<file>] {
//		window <name>
//		allow <ip|cidr>...
//		bypass <matcher>
//		hold <duration> [<max waiting>]
//	}
func parseMaintenance(d *caddyfile.Dispenser, m *upstreamerrors.Handler, matcher matcherToken, at origins) error {
	if m.Maintenance != nil {
		return d.Errf("maintenance: set twice; give it once")
	}
	args := d.RemainingArgs()
	if len(args) > 1 {
		return d.Errf("maintenance takes at most the path of a flag file, as in `maintenance /run/caddy/maintenance`; got %d values", len(args))
	}
	at.note(d, "maintenance")
	mt := new(upstreamerrors.Maintenance)
	if len(args) == 1 {
		mt.File = args[0]
	}
	seenHold := false
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		switch opt := d.Val(); opt {
		case "window":
			names := d.RemainingArgs()
			if len(names) != 1 {
				return d.Errf("maintenance: window takes exactly one name, got %d", len(names))
			}
			name := names[0]
			if mt.Window != "" {
				return d.Errf("maintenance: window set twice; give it once")
			}
			at.note(d, "maintenance.window")
			mt.Window = name
		case "allow":
			ranges := d.RemainingArgs()
			if len(ranges) == 0 {
				return d.Errf("maintenance: allow needs IP addresses or CIDR ranges, such as 10.0.0.0/8")
			}
			at.note(d, "maintenance.allow", ranges...)
			mt.Allow = append(mt.Allow, ranges...)
		case "bypass":
			set, ok, err := matcher()
			if err != nil {
				return d.Errf("maintenance: bypass: %v", err)
			}
			if !ok || len(set) == 0 {
				return d.Errf("maintenance: bypass takes one matcher: a named matcher (@name) defined in the site or a path (/healthz)")
			}
			if d.NextArg() {
				return d.Errf("maintenance: bypass takes one matcher; got another, %q (repeat bypass for more)", d.Val())
			}
			mt.BypassRaw = append(mt.BypassRaw, set)
		case "hold":
			hold := d.RemainingArgs()
			if len(hold) == 0 || len(hold) > 2 {
				return d.Errf("maintenance: hold takes a duration and optionally how many requests may wait, as in `hold 10s 1000`; got %d values", len(hold))
			}
			if seenHold {
				return d.Errf("maintenance: hold set twice; give it once")
			}
			seenHold = true
			dur, err := caddy.ParseDuration(hold[0])
			if err != nil {
				return d.Errf("maintenance: hold: %q is not a duration (such as 10s)", hold[0])
			}
			if dur == 0 {
				return d.Errf("maintenance: hold: 0s holds nothing; leave hold out")
			}
			at.note(d, "maintenance.hold")
			at.note(d, "maintenance.hold_max")
			mt.Hold = caddy.Duration(dur)
			if len(hold) == 2 {
				n, err := strconv.Atoi(hold[1])
				if err != nil || n <= 0 {
					return d.Errf("maintenance: hold: %q is not a positive number of requests", hold[1])
				}
				mt.HoldMax = n
			}
		default:
			return d.Errf("maintenance: unknown option %q; the block takes window, allow, bypass and hold", opt)
		}
	}
	if mt.File == "" && mt.Window == "" {
		return d.Errf("maintenance needs a flag file or a window, as in `maintenance /run/caddy/maintenance` or `maintenance { window shop }`")
	}
	m.Maintenance = mt
	return nil
}

// oneArg returns the single argument of the current subdirective.
func oneArg(d *caddyfile.Dispenser) (string, error) {
	sub := d.Val()
	args := d.RemainingArgs()
	if len(args) != 1 {
		return "", d.Errf("%s takes exactly one value, got %d", sub, len(args))
	}
	return args[0], nil
}

// parseSeconds reads a duration, taking a bare number as seconds the way
// Retry-After itself counts. A number too large for a duration is reported
// as over the maximum rather than wrapping around.
func parseSeconds(s string) (time.Duration, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) && strings.HasPrefix(s, "-") {
		return 0, fmt.Errorf("%s seconds must not be negative", s)
	}
	if errors.Is(err, strconv.ErrRange) || err == nil && n > int64(upstreamerrors.RetryAfterMax/time.Second) {
		return 0, fmt.Errorf("%s seconds is longer than the maximum, %s", s, upstreamerrors.RetryAfterMax)
	}
	if err == nil {
		return time.Duration(n) * time.Second, nil
	}
	d, err := caddy.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (such as 30s) or a number of seconds", s)
	}
	return d, nil
}
