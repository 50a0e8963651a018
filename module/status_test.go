package upstreamerrors

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func TestParseStatusRange(t *testing.T) {
	for in, want := range map[string]statusRange{
		"5xx": {500, 599}, "502": {502, 502}, "500-504": {500, 504}, "1xx": {100, 199},
	} {
		t.Run(in, func(t *testing.T) {
			got, err := parseStatusRange(in)
			if err != nil || got != want {
				t.Errorf("%q: %v %v", in, got, err)
			}
		})
	}
	for _, in := range []string{"", "6xx", "abc", "50", "5000", "600", "099", "504-500", "500-", "-500", "5xx-599"} {
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
			if _, err := parseStatusRange(in); err == nil {
				t.Errorf("%q: no error", in)
			}
		})
	}
}

func TestStatusResolution(t *testing.T) {
	h := &Handler{}
	for cause, want := range map[string]int{
		causeConnectionRefused: 502, causeConnectionTimeout: 504, causeHTTPResponseTimeout: 504,
		causeDestinationUnavail: 503, causeDNSError: 502, causeDNSTimeout: 504, "unknown": 502,
	} {
		t.Run(cause, func(t *testing.T) {
			if got := h.statusForCause(cause); got != want {
				t.Errorf("default %s: %d, want %d", cause, got, want)
			}
		})
	}
	for up, want := range map[int]int{500: 502, 501: 502, 502: 502, 503: 503, 504: 504, 599: 502} {
		t.Run(fmt.Sprint(up), func(t *testing.T) {
			if got := h.statusForUpstream(up); got != want {
				t.Errorf("default upstream %d: %d, want %d", up, got, want)
			}
		})
	}
	h.StatusMap = map[string]int{"timeout": 503, causeConnectionTimeout: 502, "5xx": 500, "504": 504}
	if got := h.statusForCause(causeHTTPResponseTimeout); got != 503 {
		t.Errorf("timeout group: %d", got)
	}
	if got := h.statusForCause(causeConnectionTimeout); got != 502 {
		t.Errorf("exact cause beats group: %d", got)
	}
	if got := h.statusForUpstream(503); got != 500 {
		t.Errorf("5xx group: %d", got)
	}
	if got := h.statusForUpstream(504); got != 504 {
		t.Errorf("exact status beats group: %d", got)
	}
}

// sortedCauses is every cause a status map can name, sorted, as an
// unknown key's error lists them.
const sortedCauses = "connection_read_timeout, connection_refused, connection_terminated, connection_timeout, destination_overloaded, destination_unavailable, dns_error, dns_timeout, http_protocol_error, http_response_timeout, maintenance, proxy_internal_error, tls_certificate_error, tls_protocol_error, upstream_error"

// TestValidate checks the JSON config's errors, which name JSON fields,
// without loading Caddy.
func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		h    Handler
		want string
	}{
		{"status not 5xx", Handler{StatusMap: map[string]int{"connection_refused": 404}}, `status_map: "connection_refused" maps to 404, which is not 500-599: upstream failures are answered with a 5xx status`},
		{"status outside HTTP", Handler{StatusMap: map[string]int{"connection_refused": 700}}, `status_map: "connection_refused" maps to 700, which is not 500-599: upstream failures are answered with a 5xx status`},
		{"unknown key", Handler{StatusMap: map[string]int{"bogus": 502}}, `status_map: key "bogus" is not a cause code, "timeout", "5xx" or an upstream 5xx status; cause codes: ` + sortedCauses},
		{"misspelled cause", Handler{StatusMap: map[string]int{"dns_eror": 502}}, `status_map: key "dns_eror" is not a cause code, "timeout", "5xx" or an upstream 5xx status; did you mean "dns_error"? Cause codes: ` + sortedCauses},
		{"group in capitals", Handler{StatusMap: map[string]int{"5XX": 502}}, `status_map: key "5XX" is not a cause code, "timeout", "5xx" or an upstream 5xx status; did you mean "5xx"? Cause codes: ` + sortedCauses},
		{"key not 5xx", Handler{StatusMap: map[string]int{"404": 502}}, `status_map: key "404" is not a cause code, "timeout", "5xx" or an upstream 5xx status; an upstream status key must be 500-599`},
		{"intercept 3xx", Handler{Intercept: []string{"304"}}, `intercept: "304": only 4xx and 5xx upstream statuses can be intercepted`},
		{"pass_json class", Handler{PassJSON: &[]string{"4xx", "json"}}, `pass_json: "json" is not a status class; want 4xx or 5xx (or off for none)`},
		{"intercept outside HTTP", Handler{Intercept: []string{"700"}}, `intercept: "700" is not a status (503), range (500-504) or class (5xx) within 400-599`},
		{"intercept and disable_intercept", Handler{Intercept: []string{"500", "502"}, DisableIntercept: true}, `disable_intercept: cannot be combined with intercept ["500" "502"]`},
		{"retry_after negative", Handler{RetryAfter: caddy.Duration(-time.Second)}, `retry_after: -1s must not be negative`},
		{"retry_after largest", Handler{RetryAfter: caddy.Duration(math.MaxInt64)}, `retry_after: 2562047h47m16.854775807s is longer than the maximum, 24h0m0s`},
		{"discard_limit negative", Handler{DiscardLimit: -1}, `discard_limit: -1 must not be negative`},
		{"keep_headers not a field", Handler{KeepHeaders: []string{"Bad Header"}}, `keep_headers: "Bad Header" is not a valid header field name`},
		{"keep_headers Content-Encoding", Handler{KeepHeaders: []string{"Retry-After", "content-encoding"}}, `keep_headers: "content-encoding" cannot be kept: it describes the upstream's body, which is not sent`},
		{"keep_headers Keep-Alive", Handler{KeepHeaders: []string{"Keep-Alive"}}, `keep_headers: "Keep-Alive" cannot be kept: it is a hop-by-hop field`},
		{"request_id_header", Handler{RequestIDHeader: "X:ID"}, `request_id_header: "X:ID" is not a valid header field name`},
		{"format", Handler{Format: "xml"}, `format: "xml" is not a format; want problem, json, html or text`},
		{"template format", Handler{Templates: map[string]*Template{"yaml": {Inline: "a"}}}, `templates: "yaml" is not a format; want problem, json, html or text`},
		{"template empty", Handler{Templates: map[string]*Template{"html": {}}}, `templates: html: set inline or file`},
		{"template both", Handler{Templates: map[string]*Template{"html": {Inline: "x", File: "/x"}}}, `templates: html: set inline or file, not both`},
		{"template inline broken", Handler{Templates: map[string]*Template{"text": {Inline: "{{.Status"}}}, `templates: text: template: text:1: unclosed action`},
		{"member", Handler{Members: map[string]string{"detail": "x"}}, `members: "detail" must be a new, non-empty name; [type title status detail instance cause request_id] are the module's own`},
		{"proxy status both", Handler{ProxyStatusName: "edge-1", DisableProxyStatus: true}, `disable_proxy_status: cannot be combined with proxy_status_name "edge-1"`},
		{"proxy status name", Handler{ProxyStatusName: "édge"}, `proxy_status_name: "édge" must be printable ASCII`},
		{"type", Handler{Type: "not a uri"}, `type: "not a uri" is not a URI reference`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.h.Validate()
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
	good := Handler{
		StatusMap: map[string]int{"timeout": 503, "5xx": 502, "500": 503, causeDNSError: 504},
		Intercept: []string{"500-504", "5xx"}, RetryAfter: caddy.Duration(RetryAfterMax),
		KeepHeaders: []string{"Retry-After", "Link"},
		// not read by Validate: adapt and validate work without the file
		Templates: map[string]*Template{"html": {File: "/nonexistent/error.html"}},
	}
	if err := good.Validate(); err != nil {
		t.Error(err)
	}
}

func TestValidRequestID(t *testing.T) {
	for s, want := range map[string]bool{
		"abc-123": true, "": false, "a b": false, `a"b`: false, "<script>": false,
		strings.Repeat("a", 128): true, strings.Repeat("a", 129): false, "é": false,
	} {
		t.Run(fmt.Sprintf("%q", s), func(t *testing.T) {
			if validRequestID(s) != want {
				t.Errorf("%q: want %v", s, want)
			}
		})
	}
}
