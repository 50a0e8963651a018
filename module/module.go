// Package upstreamerrors provides the http.handlers.upstream_errors module:
// middleware that wraps reverse_proxy and answers every upstream failure
// with the right 502, 503 or 504 and one RFC 9457 problem body.
package upstreamerrors

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Defaults applied at provisioning.
const (
	DefaultRetryAfter      = 10 * time.Second
	DefaultDiscardLimit    = 64 << 10
	DefaultRequestIDHeader = "X-Request-ID"
	DefaultType            = "about:blank"
)

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
// Default status table: timeouts answer 504, no available upstream answers
// 503 (with Retry-After), every other failure answers 502; an upstream 502,
// 503 or 504 keeps its status and any other upstream 5xx becomes 502.
// Upstream 4xx pages are replaced only when intercept lists them, and
// keep their status. In an error route (handle_errors) the handler answers
// the error being handled, such as file_server's 404 or basic_auth's 401,
// the same way, without calling the next handler.
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
	// failures to get a response are normalized.
	DisableIntercept bool `json:"disable_intercept,omitempty"`

	// The Retry-After sent with a 503 when the upstream did not send one
	// that is kept. Rounded up to whole seconds. Default: 10s.
	RetryAfter caddy.Duration `json:"retry_after,omitempty"`

	// Upstream response header fields kept on a replaced response; all
	// others are dropped so nothing about the upstream leaks to the client.
	// Default: `Retry-After`.
	KeepHeaders []string `json:"keep_headers,omitempty"`

	// The most bytes of an intercepted upstream body that are read (and
	// discarded) so the upstream connection can be reused; a longer body,
	// or one still arriving after a second, is abandoned and its
	// connection closed. Default: 65536.
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
	// A format without one gets the built-in body.
	Templates map[string]*Template `json:"templates,omitempty"`

	// Extra members added to the built-in `problem` and `json` bodies, such
	// as a link to a status page. Values may hold Caddy placeholders.
	Members map[string]string `json:"members,omitempty"`

	// The name this proxy reports itself by in the Proxy-Status response
	// header (RFC 9209). Default: `caddy`.
	ProxyStatusName string `json:"proxy_status_name,omitempty"`

	// Leave out the Proxy-Status response header.
	DisableProxyStatus bool `json:"disable_proxy_status,omitempty"`

	// The request header that carries the request ID, which is echoed in
	// the response header, the body and the log; a request without a valid
	// one gets a generated UUID. Default: `X-Request-ID`.
	RequestIDHeader string `json:"request_id_header,omitempty"`

	intercept   []statusRange
	passJSON    classSet
	keep        []string
	retryAfter  string
	templates   map[string]*compiledTemplate
	memberNames []string
	logger      *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.upstream_errors",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision sets up the handler and fills in defaults.
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
		h.Format = FormatProblem
	}
	if h.ProxyStatusName == "" {
		h.ProxyStatusName = DefaultProxyStatusName
	}
	h.templates = make(map[string]*compiledTemplate, len(h.Templates))
	for format, t := range h.Templates {
		if t == nil || !validFormat(format) {
			continue // Validate reports it
		}
		ct, err := compileTemplate(format, t)
		if err != nil {
			return err
		}
		h.templates[format] = ct
	}
	h.memberNames = sortedMembers(h.Members)
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("registering metrics: %v", err)
	}
	if h.RequestIDHeader == "" {
		h.RequestIDHeader = DefaultRequestIDHeader
	}
	h.RequestIDHeader = http.CanonicalHeaderKey(h.RequestIDHeader)

	if h.KeepHeaders == nil {
		h.keep = []string{"Retry-After"}
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
			spec = []string{Group5xx}
		}
		for _, s := range spec {
			r, err := parseStatusRange(s)
			if err != nil {
				return fmt.Errorf("intercept: %v", err)
			}
			h.intercept = append(h.intercept, r)
		}
	}

	h.passJSON = h.passJSONClasses()

	// round up so a sub-second value still asks for a wait
	secs := (time.Duration(h.RetryAfter) + time.Second - 1) / time.Second
	h.retryAfter = fmt.Sprint(int64(secs))
	return nil
}

// Validate checks the configuration. It reads only the configured fields,
// so the Caddyfile adapter runs it too, failing at adapt time.
func (h *Handler) Validate() error {
	for key, status := range h.StatusMap {
		if err := validateMapKey(key); err != nil {
			return err
		}
		if err := validateMapTarget(key, status); err != nil {
			return err
		}
	}
	for _, s := range h.Intercept {
		r, err := parseStatusRange(s)
		if err != nil {
			return fmt.Errorf("intercept: %v", err)
		}
		if r.lo < 400 {
			return fmt.Errorf("intercept %q: only 4xx and 5xx upstream statuses can be intercepted", s)
		}
	}
	if err := h.validatePassJSON(); err != nil {
		return err
	}
	if h.RetryAfter < 0 {
		return fmt.Errorf("retry_after %s: must not be negative", time.Duration(h.RetryAfter))
	}
	if h.DiscardLimit < 0 {
		return fmt.Errorf("discard_limit %d: must not be negative", h.DiscardLimit)
	}
	for _, f := range h.KeepHeaders {
		if !validFieldName(f) {
			return fmt.Errorf("keep_headers %q: not a valid header field name", f)
		}
	}
	if h.RequestIDHeader != "" && !validFieldName(h.RequestIDHeader) {
		return fmt.Errorf("request_id_header %q: not a valid header field name", h.RequestIDHeader)
	}
	if h.Format != "" && !validFormat(h.Format) {
		return fmt.Errorf("format %q: want problem, json, html or text", h.Format)
	}
	for format, t := range h.Templates {
		if !validFormat(format) {
			return fmt.Errorf("template %q: unknown format; want problem, json, html or text", format)
		}
		if t == nil {
			return fmt.Errorf("template %s: empty", format)
		}
		if _, err := compileTemplate(format, t); err != nil {
			return err
		}
	}
	for name := range h.Members {
		if name == "" || slices.Contains(standardMembers, name) {
			return fmt.Errorf("member %q: must be a new, non-empty name; %v are the module's own", name, standardMembers)
		}
	}
	if h.ProxyStatusName != "" && !validProxyStatusName(h.ProxyStatusName) {
		return fmt.Errorf("proxy_status %q: must be printable ASCII", h.ProxyStatusName)
	}
	if strings.ContainsAny(h.Type, " \t\r\n\"<>") {
		return fmt.Errorf("type %q: not a URI reference", h.Type)
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
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
