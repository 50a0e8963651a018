package upstreamerrors

import (
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
)

func TestParseStatusRange(t *testing.T) {
	for in, want := range map[string]statusRange{
		"5xx": {500, 599}, "502": {502, 502}, "500-504": {500, 504}, "1xx": {100, 199},
	} {
		got, err := parseStatusRange(in)
		if err != nil || got != want {
			t.Errorf("%q: %v %v", in, got, err)
		}
	}
	for _, in := range []string{"", "6xx", "abc", "50", "5000", "600", "099", "504-500", "500-", "-500", "5xx-599"} {
		if _, err := parseStatusRange(in); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func TestStatusResolution(t *testing.T) {
	h := &Handler{}
	for cause, want := range map[string]int{
		CauseConnectionRefused: 502, CauseConnectionTimeout: 504, CauseHTTPResponseTimeout: 504,
		CauseDestinationUnavail: 503, CauseDNSError: 502, CauseDNSTimeout: 504, "unknown": 502,
	} {
		if got := h.statusForCause(cause); got != want {
			t.Errorf("default %s: %d, want %d", cause, got, want)
		}
	}
	for up, want := range map[int]int{500: 502, 501: 502, 502: 502, 503: 503, 504: 504, 599: 502} {
		if got := h.statusForUpstream(up); got != want {
			t.Errorf("default upstream %d: %d, want %d", up, got, want)
		}
	}
	h.StatusMap = map[string]int{"timeout": 503, CauseConnectionTimeout: 502, "5xx": 500, "504": 504}
	if got := h.statusForCause(CauseHTTPResponseTimeout); got != 503 {
		t.Errorf("timeout group: %d", got)
	}
	if got := h.statusForCause(CauseConnectionTimeout); got != 502 {
		t.Errorf("exact cause beats group: %d", got)
	}
	if got := h.statusForUpstream(503); got != 500 {
		t.Errorf("5xx group: %d", got)
	}
	if got := h.statusForUpstream(504); got != 504 {
		t.Errorf("exact status beats group: %d", got)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		h    Handler
		want string
	}{
		{Handler{StatusMap: map[string]int{"connection_refused": 404}}, `status_map "connection_refused": target 404 is not a 5xx status`},
		{Handler{StatusMap: map[string]int{"connection_refused": 700}}, `status_map "connection_refused": status 700 is outside 100-599`},
		{Handler{StatusMap: map[string]int{"bogus": 502}}, `status_map: unknown key "bogus"`},
		{Handler{StatusMap: map[string]int{"404": 502}}, `status_map: key "404" is not an upstream 5xx status`},
		{Handler{Intercept: []string{"304"}}, `intercept "304": only 4xx and 5xx upstream statuses can be intercepted`},
		{Handler{Intercept: []string{"700"}}, `intercept: status 700 is outside 100-599`},
		{Handler{RetryAfter: caddy.Duration(-time.Second)}, `retry_after -1s: must not be negative`},
		{Handler{DiscardLimit: -1}, `discard_limit -1: must not be negative`},
		{Handler{KeepHeaders: []string{"Bad Header"}}, `keep_headers "Bad Header": not a valid header field name`},
		{Handler{RequestIDHeader: "X:ID"}, `request_id_header "X:ID": not a valid header field name`},
		{Handler{Type: "not a uri"}, `type "not a uri": not a URI reference`},
	} {
		err := tc.h.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.h, err, tc.want)
		}
	}
	good := Handler{StatusMap: map[string]int{"timeout": 503, "5xx": 502, "500": 503, CauseDNSError: 504}, Intercept: []string{"500-504", "5xx"}}
	if err := good.Validate(); err != nil {
		t.Error(err)
	}
}

func TestValidRequestID(t *testing.T) {
	for s, want := range map[string]bool{
		"abc-123": true, "": false, "a b": false, `a"b`: false, "<script>": false,
		strings.Repeat("a", 128): true, strings.Repeat("a", 129): false, "é": false,
	} {
		if validRequestID(s) != want {
			t.Errorf("%q: want %v", s, want)
		}
	}
}
