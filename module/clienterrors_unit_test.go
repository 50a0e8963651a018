package upstreamerrors

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestIsJSONMediaType(t *testing.T) {
	for v, want := range map[string]bool{
		"application/json":                      true,
		"APPLICATION/JSON; charset=UTF-8":       true,
		"application/problem+json":              true,
		"application/vnd.api+json":              true,
		`application/json; profile="a;b"`:       true,
		"text/plain+json":                       true,
		"":                                      false,
		"text/json":                             false,
		"application/jsonp":                     false,
		"application/json-seq":                  false,
		"application/+json":                     false,
		"application/json;;":                    false, // unparseable: not JSON
		"application/json, text/html":           false,
		"text/html; charset=utf-8":              false,
		"application/problem+json; charset=\"x": false,
	} {
		t.Run(fmt.Sprintf("%q", v), func(t *testing.T) {
			if got := isJSONMediaType(v); got != want {
				t.Errorf("isJSONMediaType(%q) = %v, want %v", v, got, want)
			}
		})
	}
}

func TestUnsatisfiedRange(t *testing.T) {
	for _, tc := range []struct {
		vals []string
		want bool
	}{
		{[]string{"bytes */1000"}, true},
		{[]string{"bytes */0"}, true},
		{[]string{"bytes 0-9/1000"}, false},
		{[]string{"bytes */*"}, false},
		{[]string{"bytes */"}, false},
		{[]string{" */1000"}, false},
		{[]string{"bytes */1000", "bytes */1000"}, false},
		{nil, false},
	} {
		t.Run(fmt.Sprintf("%q", tc.vals), func(t *testing.T) {
			if got := unsatisfiedRange(tc.vals); got != tc.want {
				t.Errorf("unsatisfiedRange(%q) = %v, want %v", tc.vals, got, tc.want)
			}
		})
	}
}

func TestPassJSONClasses(t *testing.T) {
	list := func(s ...string) *[]string { return &s }
	for _, tc := range []struct {
		pass     *[]string
		has4, h5 bool
	}{
		{nil, true, false},
		{list(), false, false},
		{list("5xx"), false, true},
		{list("4xx", "5xx"), true, true},
	} {
		t.Run(fmt.Sprint(tc.pass), func(t *testing.T) {
			h := Handler{PassJSON: tc.pass}
			set := h.passJSONClasses()
			if set.has(404) != tc.has4 || set.has(500) != tc.h5 || set.has(200) || set.has(-1) || set.has(700) {
				t.Errorf("%v: %v", tc.pass, set)
			}
		})
	}
	if err := (&Handler{PassJSON: list("4xx", "json")}).Validate(); err == nil || err.Error() != `pass_json: "json" is not a status class; want 4xx or 5xx (or off for none)` {
		t.Errorf("Validate: %v", err)
	}
}

func TestClientDetails(t *testing.T) {
	seen := map[string]int{}
	for _, s := range []int{400, 401, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413, 414, 415, 416, 417, 421, 422, 423, 424, 425, 426, 428, 429, 431, 451} {
		t.Run(fmt.Sprint(s), func(t *testing.T) {
			d := clientDetail(s)
			if d == clientErrorDetail {
				t.Errorf("%d has the generic sentence", s)
			}
			if other, dup := seen[d]; dup {
				t.Errorf("%d and %d share %q", s, other, d)
			}
			seen[d] = s
		})
	}
	if clientDetail(418) != clientErrorDetail {
		t.Errorf("418: %q", clientDetail(418))
	}
}

func TestLocalFailure(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		cause  string
	}{
		{caddyhttp.Error(401, nil), 401, causeHTTPRequestDenied},
		{caddyhttp.Error(403, errors.New("no")), 403, causeHTTPRequestDenied},
		{caddyhttp.Error(429, nil), 429, causeHTTPRequestDenied},
		{caddyhttp.Error(404, nil), 404, causeHTTPRequestError},
		{caddyhttp.Error(400, nil), 400, causeHTTPRequestError},
		{caddyhttp.Error(500, nil), 500, causeProxyInternalError},
		{caddyhttp.Error(503, nil), 503, causeProxyInternalResponse},
		{caddyhttp.Error(501, nil), 501, causeProxyInternalResponse},
		// no status a problem can carry: answered 500, as Caddy does
		{caddyhttp.Error(302, nil), 500, causeProxyInternalError},
		{errors.New("plain"), 500, causeProxyInternalError},
	} {
		t.Run(fmt.Sprint(tc.status, " ", tc.cause), func(t *testing.T) {
			f := localFailure(tc.err)
			if f.status != tc.status || f.cause != tc.cause || !f.local || f.upstreamStatus != 0 {
				t.Errorf("%v: %+v, want %d %s", tc.err, f, tc.status, tc.cause)
			}
			if d := detailFor(f); d == "" || d == causes[causeHTTPResponseStatus].Detail {
				t.Errorf("%v: detail %q", tc.err, d)
			}
		})
	}
	if got := localFailure(caddyhttp.Error(http.StatusForbidden, errors.New("ip not allowed"))).err.Error(); got != "ip not allowed" {
		t.Errorf("logged error %q, want the handler's message", got)
	}
}
