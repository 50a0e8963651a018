// Package upstreamerrors provides the http.handlers.upstream_errors module:
// middleware that wraps reverse_proxy and answers every upstream failure
// with the right 502, 503 or 504 and one RFC 9457 problem body.
package upstreamerrors

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Defaults applied at provisioning to fields left unset (zero).
const (
	DefaultRetryAfter      = 10 * time.Second
	DefaultDiscardLimit    = 64 << 10
	DefaultRequestIDHeader = "X-Request-ID"
	DefaultType            = "about:blank"
	DefaultFormat          = FormatProblem
	DefaultIntercept       = Group5xx
	DefaultKeepHeader      = "Retry-After"
	DefaultProxyStatusName = "caddy"
)

// RetryAfterMax bounds retry_after: a day is longer than any outage a
// client should be told to wait out, and far from the int64 overflow of
// nanosecond durations.
const RetryAfterMax = 24 * time.Hour

// Handler wraps the rest of the route (usually reverse_proxy) and replaces
// upstream failures with a consistent problem response.
//
// When the next handler fails to reach or read the upstream (refused,
// reset, DNS, TLS, malformed response, timeouts, no healthy upstream), or
// the upstream answers with an intercepted status, the handler writes the
// mapped 5xx status with an RFC 9457 application/problem+json body and logs
// one entry with the status, its class and the failure cause. The body
// follows the client's Accept header (problem+json, JSON, HTML or plain
// text) and a Proxy-Status header (RFC 9209) names the cause. Everything
// else, streams and upgrades included, passes through untouched.
//
// Default status table: timeouts answer 504, no available upstream or an
// overloaded one (a unix socket refusing at once) answers 503 (with
// Retry-After), every other failure answers 502; an upstream 502,
// 503 or 504 keeps its status and any other upstream 5xx becomes 502.
// Upstream 4xx pages are replaced only when intercept lists them, and
// keep their status. In an error route (handle_errors) the handler answers
// the error being handled, such as file_server's 404 or basic_auth's 401,
// the same way, without calling the next handler.
//
// With `maintenance` configured, every request is answered 503 with cause
// `maintenance` while a flag file exists or a named window kept in Caddy's
// storage is on, except those of allowed client IPs or bypass matchers,
// which go on to the next handler as usual; with a hold, requests first
// wait for a short window to end.
//
// When it normalizes a response, this module sets the placeholders
// `{http.upstream_errors.status}`, `{http.upstream_errors.class}`,
// `{http.upstream_errors.cause}`, `{http.upstream_errors.title}`,
// `{http.upstream_errors.detail}`, `{http.upstream_errors.type}`,
// `{http.upstream_errors.instance}` and `{http.upstream_errors.request_id}`,
// and counts it in the `caddy_http_upstream_errors_total` metric.
type Handler struct {
	// Overrides the response status. Keys are a cause code (such as
	// `connection_refused`), `timeout` for every timeout cause, an upstream
	// status (such as `500`) or `5xx` for every upstream status without an
	// exact entry. Values must be 5xx statuses.
	StatusMap map[string]int `json:"status_map,omitempty"`

	// Upstream response statuses to replace, as codes (`500`), ranges
	// (`500-504`) or classes (`5xx`). 4xx and 5xx statuses can be listed
	// (`4xx 5xx` replaces legacy 4xx pages too); a replaced 4xx keeps its
	// status. Default: `5xx`.
	Intercept []string `json:"intercept,omitempty"`

	// Status classes (`4xx`, `5xx`) whose intercepted upstream responses
	// pass through untouched when their body is already JSON
	// (`application/json`, `application/problem+json` or any `+json`
	// type): a modern backend's validation errors are meant for its
	// clients, while a 5xx body may leak a stack trace. An empty list
	// replaces every intercepted response. Default: `["4xx"]`.
	PassJSON *[]string `json:"pass_json,omitempty"`

	// Pass every upstream response through, whatever its status; only
	// failures to get a response are normalized. Cannot be combined with
	// `intercept`.
	DisableIntercept bool `json:"disable_intercept,omitempty"`

	// The Retry-After sent with a 503 when the upstream did not send one
	// that is kept. Rounded up to whole seconds, at most a day. Zero (or
	// unset) means the default: 10s.
	RetryAfter caddy.Duration `json:"retry_after,omitempty"`

	// Upstream response header fields kept on a replaced response; all
	// others are dropped so nothing about the upstream leaks to the client.
	// Fields that frame or describe the upstream's body (such as
	// `Content-Encoding` or `Content-Length`), hop-by-hop fields and fields
	// the module sets itself cannot be kept. Default: `Retry-After`.
	KeepHeaders []string `json:"keep_headers,omitempty"`

	// The most bytes of an intercepted upstream body that are read (and
	// discarded) so the upstream connection can be reused; a longer body,
	// or one still arriving after a second, is abandoned and its
	// connection closed. Zero (or unset) means the default: 65536.
	DiscardLimit int64 `json:"discard_limit,omitempty"`

	// The problem `type`. A value ending in `/` or `#` gets the cause code
	// appended, giving each cause its own documented URI. Default:
	// `about:blank`, whose title is the status's reason phrase.
	Type string `json:"type,omitempty"`

	// The body format when the client's Accept header does not pick one:
	// `problem` (application/problem+json), `json`, `html` or `text`.
	// Default: `problem`.
	Format string `json:"format,omitempty"`

	// Custom bodies, keyed by format (`problem`, `json`, `html`, `text`).
	// A format without one gets the built-in body. A `file` template is
	// read when the config is provisioned (`caddy run`, `caddy reload`,
	// and `caddy validate`, which provisions the same way), not by
	// `caddy adapt`.
	Templates map[string]*Template `json:"templates,omitempty"`

	// Extra members added to the built-in `problem` and `json` bodies, such
	// as a link to a status page. Values may hold Caddy placeholders.
	Members map[string]string `json:"members,omitempty"`

	// The name this proxy reports itself by in the Proxy-Status response
	// header (RFC 9209). Default: `caddy`.
	ProxyStatusName string `json:"proxy_status_name,omitempty"`

	// Leave out the Proxy-Status response header. Cannot be combined with
	// `proxy_status_name`.
	DisableProxyStatus bool `json:"disable_proxy_status,omitempty"`

	// The request header that carries the request ID, which is echoed in
	// the response header, the body and the log; a request without a valid
	// one gets a generated UUID. Default: `X-Request-ID`.
	RequestIDHeader string `json:"request_id_header,omitempty"`

	// Planned maintenance: while its flag file exists or its named window
	// is on, every request the handler covers is answered 503 with cause
	// `maintenance`, except those of allowed client IPs or bypass
	// matchers, without reaching the next handler.
	Maintenance *Maintenance `json:"maintenance,omitempty"`

	// Optional metrics, such as failures counted by upstream.
	Metrics *Metrics `json:"metrics,omitempty"`

	// How many of the last failures answered the process keeps for the
	// admin API's /upstream_errors/recent. The buffer is shared by every
	// handler and holds the largest number any loaded handler sets.
	// Default: 100, at most 10000.
	Recent int `json:"recent,omitempty"`

	intercept   []statusRange
	passJSON    classSet
	keep        []string
	retryAfter  string
	templates   map[string]*compiledTemplate
	memberNames []string
	bodies      *bodyCache
	logger      *zap.Logger
	maintenance *maintenanceWatch
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.upstream_errors",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets up the handler and fills in defaults. It reads `file`
// templates, so a missing or broken one fails `caddy run` and `caddy reload`.
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()

	if h.RetryAfter == 0 {
		h.RetryAfter = caddy.Duration(DefaultRetryAfter)
	}
	if h.DiscardLimit == 0 {
		h.DiscardLimit = DefaultDiscardLimit
	}
	if h.Type == "" {
		h.Type = DefaultType
	}
	if h.Format == "" {
		h.Format = DefaultFormat
	}
	if h.ProxyStatusName == "" && !h.DisableProxyStatus {
		// left empty when disabled, so Validate (which Caddy runs after
		// Provision) still sees only what was configured
		h.ProxyStatusName = DefaultProxyStatusName
	}
	if h.RequestIDHeader == "" {
		h.RequestIDHeader = DefaultRequestIDHeader
	}
	h.RequestIDHeader = http.CanonicalHeaderKey(h.RequestIDHeader)

	h.templates = make(map[string]*compiledTemplate, len(h.Templates))
	for format, t := range h.Templates {
		if t == nil || !validFormat(format) || t.Inline != "" && t.File != "" {
			continue // Validate reports it
		}
		ct, err := compileTemplate(format, t)
		if err != nil {
			return fmt.Errorf("templates: %v", err)
		}
		h.templates[format] = ct
	}
	h.memberNames = sortedMembers(h.Members)
	h.bodies = new(bodyCache)
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %v", err)
	}

	if h.KeepHeaders == nil {
		h.keep = []string{DefaultKeepHeader}
	} else {
		h.keep = make([]string, len(h.KeepHeaders))
		for i, f := range h.KeepHeaders {
			h.keep[i] = http.CanonicalHeaderKey(f)
		}
	}

	h.intercept = nil
	if !h.DisableIntercept {
		spec := h.Intercept
		if len(spec) == 0 {
			spec = []string{DefaultIntercept}
		}
		for _, s := range spec {
			if r, err := parseIntercept(s); err == nil { // else Validate reports it
				h.intercept = append(h.intercept, r)
			}
		}
	}
	h.warnNo5xx()
	h.warnUnreachable(ctx)

	h.passJSON = h.passJSONClasses()

	// round up so a sub-second value still asks for a wait; a value past
	// RetryAfterMax, which could overflow here, fails Validate, which
	// Caddy runs next
	secs := (time.Duration(h.RetryAfter) + time.Second - 1) / time.Second
	h.retryAfter = strconv.FormatInt(int64(secs), 10)

	if srv, ok := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok && srv != nil {
		h.initSeries(srv.Name())
		h.initUpstreamSeries(ctx, srv.Name())
	}
	h.registerRecent()

	// last, so nothing after it can fail with the goroutine running
	if h.Maintenance != nil && validateMaintenance(h.Maintenance) == nil {
		bypass, err := loadBypass(ctx, h.Maintenance)
		if err != nil {
			return fmt.Errorf("maintenance: %v", err)
		}
		w, err := newMaintenanceWatch(h.Maintenance, bypass, maintenanceStorage(ctx, h.Maintenance), h.logger)
		if err != nil {
			return fmt.Errorf("maintenance: %v", err)
		}
		h.maintenance = w
	}
	return nil
}

// Cleanup stops watching the maintenance file.
func (h *Handler) Cleanup() error {
	h.unregisterRecent()
	if h.maintenance != nil {
		h.maintenance.close()
	}
	return nil
}

// Validate checks the configuration. It reads no files, so `caddy adapt`
// and `caddy validate` work on a machine without the template files;
// Provision reads and checks those. Errors name the JSON fields; the
// Caddyfile adapter runs the same checks per sub-directive, naming those.
func (h *Handler) Validate() error {
	for _, key := range slices.Sorted(maps.Keys(h.StatusMap)) {
		if err := validateStatusMapping(key, h.StatusMap[key]); err != nil {
			return fieldErr("status_map", key, err)
		}
	}
	if h.DisableIntercept && len(h.Intercept) > 0 {
		return fieldErr("disable_intercept", "", fmt.Errorf("cannot be combined with intercept %q", h.Intercept))
	}
	for _, s := range h.Intercept {
		if _, err := parseIntercept(s); err != nil {
			return fieldErr("intercept", s, err)
		}
	}
	if h.PassJSON != nil {
		for _, c := range *h.PassJSON {
			if err := validatePassJSONClass(c); err != nil {
				return fieldErr("pass_json", c, err)
			}
		}
	}
	if err := validateRetryAfter(time.Duration(h.RetryAfter)); err != nil {
		return fieldErr("retry_after", "", err)
	}
	if h.DiscardLimit < 0 {
		return fieldErr("discard_limit", "", fmt.Errorf("%d must not be negative", h.DiscardLimit))
	}
	for _, f := range h.KeepHeaders {
		if err := validateKeepHeader(f); err != nil {
			return fieldErr("keep_headers", f, err)
		}
	}
	if h.RequestIDHeader != "" {
		if err := validateFieldName(h.RequestIDHeader); err != nil {
			return fieldErr("request_id_header", "", err)
		}
	}
	if h.Format != "" {
		if err := validateFormat(h.Format); err != nil {
			return fieldErr("format", "", err)
		}
	}
	for _, format := range slices.Sorted(maps.Keys(h.Templates)) {
		if err := validateTemplate(format, h.Templates[format]); err != nil {
			return fieldErr("templates", format, err)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(h.Members)) {
		if err := validateMemberName(name); err != nil {
			return fieldErr("members", name, err)
		}
	}
	if h.DisableProxyStatus && h.ProxyStatusName != "" {
		return fieldErr("disable_proxy_status", "", fmt.Errorf("cannot be combined with proxy_status_name %q", h.ProxyStatusName))
	}
	if h.ProxyStatusName != "" {
		if err := validateProxyStatusName(h.ProxyStatusName); err != nil {
			return fieldErr("proxy_status_name", "", err)
		}
	}
	if err := validateType(h.Type); err != nil {
		return fieldErr("type", "", err)
	}
	if h.Maintenance != nil {
		if err := validateMaintenance(h.Maintenance); err != nil {
			return fieldErr("maintenance", "", err)
		}
	}
	if h.Metrics != nil {
		if err := validateMetrics(h.Metrics); err != nil {
			return fieldErr("metrics", "", err)
		}
	}
	return fieldErr("recent", "", validateRecent(h.Recent))
}

// The rules below check one value each, for Validate alone; each error
// names the value, and Validate adds the field it came from.

// validateRetryAfter checks a retry_after duration.
func validateRetryAfter(d time.Duration) error {
	if d < 0 {
		return fmt.Errorf("%s must not be negative", d)
	}
	if d > RetryAfterMax {
		return fmt.Errorf("%s is longer than the maximum, %s", d, RetryAfterMax)
	}
	return nil
}

// unkeepable are upstream fields keep_headers refuses, with the reason.
// The upstream's body is never sent, so fields that frame, encode or
// describe it would mislabel the module's body; hop-by-hop fields belong
// to the upstream connection; the rest the module sets itself.
var unkeepable = map[string]string{
	"Content-Encoding":       "it describes the upstream's body, which is not sent",
	"Content-Length":         "it describes the upstream's body, which is not sent",
	"Content-Range":          "it describes the upstream's body, which is not sent",
	"Content-Type":           "it describes the upstream's body, which is not sent",
	"Content-Digest":         "it describes the upstream's body, which is not sent",
	"Content-Md5":            "it describes the upstream's body, which is not sent",
	"Digest":                 "it describes the upstream's body, which is not sent",
	"Etag":                   "it describes the upstream's body, which is not sent",
	"Last-Modified":          "it describes the upstream's body, which is not sent",
	"Transfer-Encoding":      "it frames the upstream's body, which is not sent",
	"Trailer":                "it frames the upstream's body, which is not sent",
	"Connection":             "it is a hop-by-hop field",
	"Keep-Alive":             "it is a hop-by-hop field",
	"Proxy-Connection":       "it is a hop-by-hop field",
	"Proxy-Authenticate":     "it is a hop-by-hop field",
	"Te":                     "it is a hop-by-hop field",
	"Upgrade":                "it is a hop-by-hop field",
	"Cache-Control":          "the module sets it on its own response",
	"Proxy-Status":           "the module sets it on its own response",
	"X-Content-Type-Options": "the module sets it on its own response",
}

// validateKeepHeader checks one keep_headers field.
func validateKeepHeader(field string) error {
	if err := validateFieldName(field); err != nil {
		return err
	}
	if why, ok := unkeepable[http.CanonicalHeaderKey(field)]; ok {
		return fmt.Errorf("%q cannot be kept: %s", field, why)
	}
	return nil
}

// validateFieldName checks that s is a header field name.
func validateFieldName(s string) error {
	if !validFieldName(s) {
		return fmt.Errorf("%q is not a valid header field name", s)
	}
	return nil
}

// validateFormat checks a body format name.
func validateFormat(format string) error {
	if !validFormat(format) {
		return fmt.Errorf("%q is not a format; want problem, json, html or text", format)
	}
	return nil
}

// validateMemberName checks the name of an extra problem member.
func validateMemberName(name string) error {
	if name == "" || slices.Contains(standardMembers, name) {
		return fmt.Errorf("%q must be a new, non-empty name; %v are the module's own", name, standardMembers)
	}
	return nil
}

// validateProxyStatusName checks the name reported in Proxy-Status.
func validateProxyStatusName(name string) error {
	if !validProxyStatusName(name) {
		return fmt.Errorf("%q must be printable ASCII", name)
	}
	return nil
}

// validateType checks the problem type URI reference.
func validateType(uri string) error {
	if strings.ContainsAny(uri, " \t\r\n\"<>") {
		return fmt.Errorf("%q is not a URI reference", uri)
	}
	return nil
}

// validFieldName reports whether s is an RFC 9110 token.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !validTokenByte(s[i]) {
			return false
		}
	}
	return true
}

// validTokenByte reports whether c may appear in an RFC 9110 token.
func validTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
