package caddyfile_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-upstream-errors/caddy-upstream-errors/caddyfile"
)

func adapt(t *testing.T, input string) (string, error) {
	t.Helper()
	out, warns, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return "", err
	}
	if len(warns) > 0 {
		t.Errorf("warnings: %v", warns)
	}
	return string(out), nil
}

// site wraps directives in a site whose JSON is predictable.
func site(body string) string {
	return ":8080 {\n" + body + "\n}\n"
}

func routeJSON(handlers string) string {
	return `{"apps":{"http":{"servers":{"srv0":{"listen":[":8080"],"routes":[{"handle":[` + handlers + `]}]}}}}}`
}

const proxyJSON = `{"handler":"reverse_proxy","upstreams":[{"dial":"legacy:8080"}]}`

func TestAdapt(t *testing.T) {
	for _, tc := range []struct {
		name, input, want string
	}{
		{
			name:  "bare directive sorts before reverse_proxy with no order line",
			input: site("\treverse_proxy legacy:8080\n\tupstream_errors"),
			want:  routeJSON(`{"handler":"upstream_errors"},` + proxyJSON),
		},
		{
			name: "every subdirective",
			input: site(`	upstream_errors {
		status connection_refused 503
		status timeout 504
		status 5xx 502
		status 503 503
		intercept 500-504 599
		retry_after 30
		keep_headers Retry-After X-Request-Id
		discard_limit 4KiB
		type https://errors.example.com/
		request_id_header X-Correlation-ID
	}
	reverse_proxy legacy:8080`),
			want: routeJSON(`{"handler":"upstream_errors",
				"status_map":{"5xx":502,"503":503,"connection_refused":503,"timeout":504},
				"intercept":["500-504","599"],
				"retry_after":30000000000,
				"keep_headers":["Retry-After","X-Request-Id"],
				"discard_limit":4096,
				"type":"https://errors.example.com/",
				"request_id_header":"X-Correlation-ID"},` + proxyJSON),
		},
		{
			name:  "retry_after as a duration",
			input: site("\tupstream_errors {\n\t\tretry_after 2m\n\t}\n\treverse_proxy legacy:8080"),
			want:  routeJSON(`{"handler":"upstream_errors","retry_after":120000000000},` + proxyJSON),
		},
		{
			name:  "intercept off",
			input: site("\tupstream_errors {\n\t\tintercept off\n\t}\n\treverse_proxy legacy:8080"),
			want:  routeJSON(`{"handler":"upstream_errors","disable_intercept":true},` + proxyJSON),
		},
		{
			name:  "a template file is not read at adapt time",
			input: site("\tupstream_errors {\n\t\ttemplate html file /nonexistent/error.html\n\t}\n\treverse_proxy legacy:8080"),
			want:  routeJSON(`{"handler":"upstream_errors","templates":{"html":{"file":"/nonexistent/error.html"}}},` + proxyJSON),
		},
		{
			name:  "proxy_status off",
			input: site("\tupstream_errors {\n\t\tproxy_status off\n\t}\n\treverse_proxy legacy:8080"),
			want:  routeJSON(`{"handler":"upstream_errors","disable_proxy_status":true},` + proxyJSON),
		},
		{
			name: "maintenance with allowed ranges",
			input: site(`	upstream_errors {
		maintenance /run/caddy/maintenance {
			allow 10.0.0.0/8 192.0.2.7
			allow 2001:db8::/32
		}
	}
	reverse_proxy legacy:8080`),
			want: routeJSON(`{"handler":"upstream_errors","maintenance":{"file":"/run/caddy/maintenance","allow":["10.0.0.0/8","192.0.2.7","2001:db8::/32"]}},` + proxyJSON),
		},
		{
			name:  "maintenance without a block",
			input: site("\tupstream_errors {\n\t\tmaintenance /run/caddy/maintenance\n\t}\n\treverse_proxy legacy:8080"),
			want:  routeJSON(`{"handler":"upstream_errors","maintenance":{"file":"/run/caddy/maintenance"}},` + proxyJSON),
		},
		{
			name: "maintenance window with bypass and hold",
			input: `:8080 {
	@team header X-Team secret

	upstream_errors {
		maintenance {
			window shop
			allow 10.0.0.0/8
			bypass @team
			bypass /healthz
			hold 10s 1000
		}
	}
	reverse_proxy legacy:8080
}
`,
			want: routeJSON(`{"handler":"upstream_errors","maintenance":{"window":"shop","allow":["10.0.0.0/8"],
				"bypass":[{"header":{"X-Team":["secret"]}},{"path":["/healthz"]}],"hold":10000000000,"hold_max":1000}},` + proxyJSON),
		},
		{
			name:  "maintenance file and window, hold without a bound",
			input: site("\tupstream_errors {\n\t\tmaintenance /run/m {\n\t\t\twindow shop\n\t\t\thold 2s\n\t\t}\n\t}\n\treverse_proxy legacy:8080"),
			want:  routeJSON(`{"handler":"upstream_errors","maintenance":{"window":"shop","file":"/run/m","hold":2000000000}},` + proxyJSON),
		},
		{
			name:  "with a matcher",
			input: site("\tupstream_errors /api/*\n\treverse_proxy legacy:8080"),
			want: `{"apps":{"http":{"servers":{"srv0":{"listen":[":8080"],"routes":[
				{"match":[{"path":["/api/*"]}],"handle":[{"handler":"upstream_errors"}]},
				{"handle":[` + proxyJSON + `]}]}}}}}`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := adapt(t, tc.input)
			if err != nil {
				t.Fatal(err)
			}
			if g, w := compact(t, got), compact(t, tc.want); g != w {
				t.Errorf("adapted:\n%s\nwant:\n%s", g, w)
			}
		})
	}
}

// compact normalizes JSON: no spaces, object keys sorted.
func compact(t *testing.T, s string) string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("%v: %s", err, s)
	}
	out, _ := json.Marshal(v)
	return string(out)
}

// The lists the errors on an unknown name end with, written out here so a
// name that goes missing or appears fails the tests.
const (
	subdirectives = "discard_limit, format, intercept, keep_headers, maintenance, member, metrics, pass_json, proxy_status, recent, request_id_header, retry_after, status, template, type"
	causeCodes    = "connection_read_timeout, connection_refused, connection_terminated, connection_timeout, destination_overloaded, destination_unavailable, dns_error, dns_timeout, http_protocol_error, http_response_timeout, maintenance, proxy_internal_error, tls_certificate_error, tls_protocol_error, upstream_error"
)

// TestAdaptErrors lists bad configurations with the exact error a user
// sees from `caddy adapt` or `caddy run`: the sub-directive as typed, the
// value, and the line it is on.
func TestAdaptErrors(t *testing.T) {
	// Each case's lines go inside an upstream_errors block after a valid
	// first line; the line marked "!" is the one the error must name.
	// Another valid line follows, so an error reported where the block
	// ends, rather than where its value was given, names the wrong line.
	for _, tc := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"unknown sub-directive", []string{"!colour red"}, `unknown subdirective "colour"; valid subdirectives: ` + subdirectives},
		{"misspelled sub-directive", []string{"!retry_afer 30"}, `unknown subdirective "retry_afer"; did you mean "retry_after"? Valid subdirectives: ` + subdirectives},
		{"sub-directive in capitals", []string{"!Intercept 404"}, `unknown subdirective "Intercept"; did you mean "intercept"? Valid subdirectives: ` + subdirectives},
		{"status without a status", []string{"!status connection_refused"}, "status takes a key and a status, as in `status connection_refused 503`"},
		{"status with three values", []string{"!status connection_refused 502 503"}, "status takes a key and a status, as in `status connection_refused 503`"},
		{"status not a number", []string{"!status connection_refused abc"}, `status: "abc" is not a status code; it must be 500-599`},
		{"status overflowing", []string{"!status timeout 99999999999999999999"}, `status: "99999999999999999999" is not a status code; it must be 500-599`},
		{"status for replaced responses", []string{"!status http_response_status 503"}, "status: key \"http_response_status\" cannot be mapped: a replaced upstream response is answered by its status; map that status (as in `status 500 503`) or \"5xx\""},
		{"status not 5xx", []string{"!status timeout 404"}, `status: "timeout" maps to 404, which is not 500-599: upstream failures are answered with a 5xx status`},
		{"status outside HTTP", []string{"!status connection_refused 999"}, `status: "connection_refused" maps to 999, which is not 500-599: upstream failures are answered with a 5xx status`},
		{"status unknown key", []string{"!status refused 502"}, `status: key "refused" is not a cause code, "timeout", "5xx" or an upstream 5xx status; cause codes: ` + causeCodes},
		{"status misspelled cause", []string{"!status conection_refused 503"}, `status: key "conection_refused" is not a cause code, "timeout", "5xx" or an upstream 5xx status; did you mean "connection_refused"? Cause codes: ` + causeCodes}, //nolint:misspell // the typo is the input
		{"status misspelled group", []string{"!status timeuot 503"}, `status: key "timeuot" is not a cause code, "timeout", "5xx" or an upstream 5xx status; did you mean "timeout"? Cause codes: ` + causeCodes},
		{"status key not 5xx", []string{"!status 404 502"}, `status: key "404" is not a cause code, "timeout", "5xx" or an upstream 5xx status; an upstream status key must be 500-599`},
		{"status repeated", []string{"status 502 502", "!status 502 503"}, `status: "502" is mapped twice`},
		{"intercept empty", []string{"!intercept"}, "intercept needs statuses (such as 5xx, 500-504, 503) or off"},
		{"intercept 3xx", []string{"!intercept 500 304"}, `intercept: "304": only 4xx and 5xx upstream statuses can be intercepted`},
		{"intercept reversed range", []string{"!intercept 504-500"}, `intercept: range "504-500" ends before it starts`},
		{"intercept outside HTTP", []string{"!intercept 404 700"}, `intercept: "700" is not a status (503), range (500-504) or class (5xx) within 400-599`},
		{"intercept class range", []string{"!intercept 5xx-6xx"}, `intercept: "5xx-6xx" is not a status (503), range (500-504) or class (5xx) within 400-599`},
		{"intercept off then statuses", []string{"intercept off", "!intercept 500"}, `intercept: off cannot be combined with statuses ["500"]`},
		{"intercept statuses then off", []string{"intercept 500 502", "!intercept off"}, `intercept: off cannot be combined with statuses ["500" "502"]`},
		{"intercept off with a status", []string{"!intercept off 503"}, `intercept: off cannot be combined with statuses ["503"]`},
		{"retry_after negative", []string{"!retry_after -5"}, "retry_after: -5s must not be negative"},
		{"retry_after not a duration", []string{"!retry_after soon"}, `retry_after: "soon" is not a duration (such as 30s) or a number of seconds`},
		{"retry_after two values", []string{"!retry_after 1 2"}, "retry_after takes exactly one value, got 2"},
		{"retry_after overflowing seconds", []string{"!retry_after 99999999999999"}, "retry_after: 99999999999999 seconds is longer than the maximum, 24h0m0s"},
		{"retry_after largest int64", []string{"!retry_after 9223372036854775807"}, "retry_after: 9223372036854775807 seconds is longer than the maximum, 24h0m0s"},
		{"retry_after beyond int64", []string{"!retry_after 99999999999999999999"}, "retry_after: 99999999999999999999 seconds is longer than the maximum, 24h0m0s"},
		{"retry_after below int64", []string{"!retry_after -99999999999999999999"}, "retry_after: -99999999999999999999 seconds must not be negative"},
		{"retry_after over a day", []string{"!retry_after 25h"}, "retry_after: 25h0m0s is longer than the maximum, 24h0m0s"},
		{"retry_after zero", []string{"!retry_after 0"}, "retry_after: 0 is not allowed; a 503 asks for a wait of at least 1s (leave retry_after out for the default, 10s)"},
		{"retry_after zero duration", []string{"!retry_after 0s"}, "retry_after: 0 is not allowed; a 503 asks for a wait of at least 1s (leave retry_after out for the default, 10s)"},
		{"retry_after repeated", []string{"retry_after 10", "!retry_after 20"}, "retry_after: set twice; give it once"},
		{"keep_headers empty", []string{"!keep_headers"}, "keep_headers needs at least one header field"},
		{"keep_headers not a field", []string{`!keep_headers "Bad Header"`}, `keep_headers: "Bad Header" is not a valid header field name`},
		{"keep_headers Content-Encoding", []string{"!keep_headers Retry-After content-encoding"}, `keep_headers: "content-encoding" cannot be kept: it describes the upstream's body, which is not sent`},
		{"keep_headers Content-Length", []string{"!keep_headers Content-Length"}, `keep_headers: "Content-Length" cannot be kept: it describes the upstream's body, which is not sent`},
		{"keep_headers Content-Type", []string{"!keep_headers Content-Type"}, `keep_headers: "Content-Type" cannot be kept: it describes the upstream's body, which is not sent`},
		{"keep_headers Content-Range", []string{"!keep_headers Content-Range"}, `keep_headers: "Content-Range" cannot be kept: it describes the upstream's body, which is not sent`},
		{"keep_headers Transfer-Encoding", []string{"!keep_headers TRANSFER-ENCODING"}, `keep_headers: "TRANSFER-ENCODING" cannot be kept: it frames the upstream's body, which is not sent`},
		{"keep_headers Trailer", []string{"!keep_headers Trailer"}, `keep_headers: "Trailer" cannot be kept: it frames the upstream's body, which is not sent`},
		{"keep_headers Connection", []string{"!keep_headers Connection"}, `keep_headers: "Connection" cannot be kept: it is a hop-by-hop field`},
		{"keep_headers Proxy-Status", []string{"!keep_headers Proxy-Status"}, `keep_headers: "Proxy-Status" cannot be kept: the module sets it on its own response`},
		{"discard_limit not a size", []string{"!discard_limit lots"}, `discard_limit: "lots" is not a size (such as 64KiB)`},
		{"discard_limit beyond int64", []string{"!discard_limit 9EiB"}, `discard_limit: "9EiB" is too large`},
		{"discard_limit zero", []string{"!discard_limit 0"}, "discard_limit: 0 is not allowed; give at least 1B (leave discard_limit out for the default, 64KiB)"},
		{"discard_limit repeated", []string{"discard_limit 1KiB", "!discard_limit 2KiB"}, "discard_limit: set twice; give it once"},
		{"request_id_header repeated", []string{"request_id_header X-A", "!request_id_header X-B"}, "request_id_header: set twice; give it once"},
		{"type repeated", []string{"type https://a.example/", "!type https://b.example/"}, "type: set twice; give it once"},
		{"request_id_header not a field", []string{`!request_id_header "X Id"`}, `request_id_header: "X Id" is not a valid header field name`},
		{"format unknown", []string{"!format xml"}, `format: "xml" is not a format; want problem, json, html or text`},
		{"format repeated", []string{"format json", "!format html"}, "format: set twice; give it once"},
		{"template unknown format", []string{`!template yaml inline "a: 1"`}, `template: "yaml" is not a format; want problem, json, html or text`},
		{"template bad source", []string{`!template html url http://x`}, "template takes a format, then `file <path>` or `inline <text>`"},
		{"template unclosed action", []string{`!template html inline "{{.Status"`}, "template: html: template: html:1: unclosed action"},
		{"template unknown field", []string{`!template html inline "{{.Uptime}}"`}, `template: html: template: html:1:2: executing "html" at <.Uptime>: can't evaluate field Uptime in type *upstreamerrors.templateData`},
		{"template invalid JSON", []string{`!template json inline "{\"status\": {{.Title}}}"`}, `template: json: does not render valid JSON: {"status": Bad \"Gateway\" \u003c\u0026\u003e}`},
		{"template repeated", []string{"template html file /a.html", `!template html inline "<p>{{.Title}}</p>"`}, "template: html set twice"},
		{"member standard", []string{"!member status 200"}, `member: "status" must be a new, non-empty name; [type title status detail instance cause request_id] are the module's own`},
		{"member without value", []string{"!member note"}, "member takes a name and a value"},
		{"member repeated", []string{"member note a", "!member note b"}, `member: "note" set twice`},
		{"proxy_status empty", []string{"!proxy_status"}, "proxy_status takes exactly one value, got 0"},
		{"proxy_status off then a name", []string{"proxy_status off", "!proxy_status edge-1"}, "proxy_status: off cannot be combined with a name"},
		{"proxy_status a name then off", []string{"proxy_status edge-1", "!proxy_status off"}, "proxy_status: off cannot be combined with a name"},
		{"proxy_status repeated", []string{"proxy_status edge-1", "!proxy_status edge-2"}, "proxy_status: set twice; give it once"},
		{"proxy_status not ASCII", []string{"!proxy_status édge"}, `proxy_status: "édge" must be printable ASCII`},
		{"type not a URI", []string{`!type "not a uri"`}, `type: "not a uri" is not a URI reference`},
		{"maintenance without a file", []string{"!maintenance"}, "maintenance needs a flag file or a window, as in `maintenance /run/caddy/maintenance` or `maintenance { window shop }`"},
		{"maintenance block without a file or window", []string{"maintenance {", "allow 10.0.0.0/8", "!}"}, "maintenance needs a flag file or a window, as in `maintenance /run/caddy/maintenance` or `maintenance { window shop }`"},
		{"maintenance two files", []string{"!maintenance /run/a /run/b"}, "maintenance takes at most the path of a flag file, as in `maintenance /run/caddy/maintenance`; got 2 values"},
		{"maintenance window empty", []string{"maintenance {", "!window", "}"}, "maintenance: window takes exactly one name, got 0"},
		{"maintenance window unsafe", []string{"maintenance {", "!window ../etc", "}"}, `maintenance: window: window name "../etc" may hold only letters, digits, '.', '-' and '_', and must start with a letter`},
		{"maintenance window twice", []string{"maintenance {", "window a", "!window b", "}"}, "maintenance: window set twice; give it once"},
		{"maintenance bypass empty", []string{"maintenance {", "window shop", "!bypass", "}"}, "maintenance: bypass takes one matcher: a named matcher (@name) defined in the site or a path (/healthz)"},
		{"maintenance bypass not a matcher", []string{"maintenance {", "window shop", "!bypass healthz", "}"}, "maintenance: bypass takes one matcher: a named matcher (@name) defined in the site or a path (/healthz)"},
		{"maintenance bypass everything", []string{"maintenance {", "window shop", "!bypass *", "}"}, "maintenance: bypass takes one matcher: a named matcher (@name) defined in the site or a path (/healthz)"},
		{"maintenance bypass undefined", []string{"maintenance {", "window shop", "!bypass @team", "}"}, "maintenance: bypass: unrecognized matcher name: @team"},
		{"maintenance bypass two", []string{"maintenance {", "window shop", "!bypass /a /b", "}"}, `maintenance: bypass takes one matcher; got another, "/b" (repeat bypass for more)`},
		{"maintenance hold empty", []string{"maintenance {", "window shop", "!hold", "}"}, "maintenance: hold takes a duration and optionally how many requests may wait, as in `hold 10s 1000`; got 0 values"},
		{"maintenance hold not a duration", []string{"maintenance {", "window shop", "!hold soon", "}"}, `maintenance: hold: "soon" is not a duration (such as 10s)`},
		{"maintenance hold negative", []string{"maintenance {", "window shop", "!hold -1s", "}"}, "maintenance: hold: -1s must not be negative"},
		{"maintenance hold too long", []string{"maintenance {", "window shop", "!hold 1h", "}"}, "maintenance: hold: 1h0m0s is longer than the maximum, 5m0s"},
		{"maintenance hold zero", []string{"maintenance {", "window shop", "!hold 0s", "}"}, "maintenance: hold: 0s holds nothing; leave hold out"},
		{"maintenance hold bad max", []string{"maintenance {", "window shop", "!hold 10s 0", "}"}, `maintenance: hold: "0" is not a positive number of requests`},
		{"maintenance hold twice", []string{"maintenance {", "window shop", "hold 10s", "!hold 5s", "}"}, "maintenance: hold set twice; give it once"},
		{"maintenance repeated", []string{"maintenance /run/a", "!maintenance /run/b"}, "maintenance: set twice; give it once"},
		{"maintenance allow empty", []string{"maintenance /run/m {", "!allow", "}"}, "maintenance: allow needs IP addresses or CIDR ranges, such as 10.0.0.0/8"},
		{"maintenance allow not an IP", []string{"maintenance /run/m {", "allow 10.0.0.0/8", "!allow 192.0.2.7 10.0.0.300", "}"}, `maintenance: allow: "10.0.0.300" is not an IP address or CIDR range (such as 10.0.0.0/8)`},
		{"maintenance allow bad prefix", []string{"maintenance /run/m {", "!allow 10.0.0.0/33", "}"}, `maintenance: allow: "10.0.0.0/33" is not an IP address or CIDR range (such as 10.0.0.0/8)`},
		{"maintenance unknown option", []string{"maintenance /run/m {", "!deny 10.0.0.0/8", "}"}, `maintenance: unknown option "deny"; the block takes window, allow, bypass and hold`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := make([]string, 0, 3+len(tc.lines)+4)
			file = append(file, ":8080 {", "\tupstream_errors {", "\t\tstatus dns_error 502")
			line := 0
			for _, l := range tc.lines {
				if strings.HasPrefix(l, "!") {
					l = l[1:]
					line = len(file) + 1
				}
				file = append(file, "\t\t"+l)
			}
			file = append(file, "\t\tkeep_headers X-Trailing", "\t}", "\treverse_proxy legacy:8080", "}")
			if line == 0 {
				t.Fatal("no line marked")
			}
			want := fmt.Sprintf("parsing caddyfile tokens for 'upstream_errors': %s, at Caddyfile:%d", tc.want, line)
			_, err := adapt(t, strings.Join(file, "\n"))
			if err == nil || err.Error() != want {
				t.Errorf("adapting\n%s\n got %v\nwant %s", strings.Join(file, "\n"), err, want)
			}
		})
	}
}

func TestAdaptArgumentError(t *testing.T) {
	_, err := adapt(t, ":8080 {\n\treverse_proxy legacy:8080\n\tupstream_errors json\n}\n")
	want := `parsing caddyfile tokens for 'upstream_errors': unexpected argument "json"; settings go in a block, at Caddyfile:3`
	if err == nil || err.Error() != want {
		t.Errorf("got %v\nwant %s", err, want)
	}
}
