package caddyfile_test

import (
	"encoding/json"
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

// TestAdaptErrors lists bad configurations with the exact error a user
// sees from `caddy adapt` or `caddy run`.
func TestAdaptErrors(t *testing.T) {
	const prefix = "parsing caddyfile tokens for 'upstream_errors': upstream_errors: "
	for _, tc := range []struct {
		block, want string
	}{
		{"upstream_errors {\n\t\tcolour red\n\t}",
			`unknown subdirective "colour", at Caddyfile:3`},
		{"upstream_errors json",
			`unexpected argument "json"; settings go in a block, at Caddyfile:2`},
		{"upstream_errors {\n\t\tstatus connection_refused\n\t}",
			"status takes a key and a status, as in `status connection_refused 503`, at Caddyfile:3"},
		{"upstream_errors {\n\t\tstatus connection_refused abc\n\t}",
			`status connection_refused: "abc" is not a status code, at Caddyfile:3`},
		{"upstream_errors {\n\t\tstatus connection_refused 404\n\t}",
			`status_map "connection_refused": target 404 is not a 5xx status; upstream failures are answered with 5xx, at Caddyfile:4`},
		{"upstream_errors {\n\t\tstatus connection_refused 999\n\t}",
			`status_map "connection_refused": status 999 is outside 100-599, at Caddyfile:4`},
		{"upstream_errors {\n\t\tstatus refused 502\n\t}",
			`status_map: unknown key "refused"; want a cause code, "timeout", "5xx" or an upstream 5xx status, at Caddyfile:4`},
		{"upstream_errors {\n\t\tstatus 404 502\n\t}",
			`status_map: key "404" is not an upstream 5xx status, at Caddyfile:4`},
		{"upstream_errors {\n\t\tstatus 502 502\n\t\tstatus 502 503\n\t}",
			"status 502: mapped twice, at Caddyfile:4"},
		{"upstream_errors {\n\t\tintercept\n\t}",
			"intercept needs statuses (such as 5xx, 500-504, 503) or off, at Caddyfile:3"},
		{"upstream_errors {\n\t\tintercept 304\n\t}",
			`intercept "304": only 4xx and 5xx upstream statuses can be intercepted, at Caddyfile:4`},
		{"upstream_errors {\n\t\tintercept 504-500\n\t}",
			`intercept: status range "504-500" ends before it starts, at Caddyfile:4`},
		{"upstream_errors {\n\t\tintercept 5xx-6xx\n\t}",
			`intercept: "5xx" is not an HTTP status code, at Caddyfile:4`},
		{"upstream_errors {\n\t\tretry_after -5\n\t}",
			"retry_after -5s: must not be negative, at Caddyfile:4"},
		{"upstream_errors {\n\t\tretry_after soon\n\t}",
			`retry_after "soon": not a duration (such as 30s) or a number of seconds, at Caddyfile:3`},
		{"upstream_errors {\n\t\tretry_after 1 2\n\t}",
			"retry_after takes exactly one value, got 2, at Caddyfile:3"},
		{"upstream_errors {\n\t\tkeep_headers\n\t}",
			"keep_headers needs at least one header field, at Caddyfile:3"},
		{"upstream_errors {\n\t\tkeep_headers \"Bad Header\"\n\t}",
			`keep_headers "Bad Header": not a valid header field name, at Caddyfile:4`},
		{"upstream_errors {\n\t\tdiscard_limit lots\n\t}",
			`discard_limit "lots": not a size (such as 64KiB), at Caddyfile:3`},
		{"upstream_errors {\n\t\trequest_id_header \"X Id\"\n\t}",
			`request_id_header "X Id": not a valid header field name, at Caddyfile:4`},
		{"upstream_errors {\n\t\tformat xml\n\t}",
			`format "xml": want problem, json, html or text, at Caddyfile:4`},
		{"upstream_errors {\n\t\ttemplate yaml inline \"a: 1\"\n\t}",
			`template "yaml": unknown format; want problem, json, html or text, at Caddyfile:4`},
		{"upstream_errors {\n\t\ttemplate html inline \"{{.Status\"\n\t}",
			"template html: template: html:1: unclosed action, at Caddyfile:4"},
		{"upstream_errors {\n\t\ttemplate html inline \"{{.Uptime}}\"\n\t}",
			`template html: template: html:1:2: executing "html" at <.Uptime>: can't evaluate field Uptime in type upstreamerrors.bodyValues, at Caddyfile:4`},
		{"upstream_errors {\n\t\ttemplate json inline \"{\\\"status\\\": {{.Title}}}\"\n\t}",
			`template json: does not render valid JSON: {"status": Bad \"Gateway\" \u003c\u0026\u003e}, at Caddyfile:4`},
		{"upstream_errors {\n\t\ttemplate text file /nonexistent/error.txt\n\t}",
			"template text: open /nonexistent/error.txt: no such file or directory, at Caddyfile:4"},
		{"upstream_errors {\n\t\tmember status 200\n\t}",
			`member "status": must be a new, non-empty name; [type title status detail instance cause request_id] are the module's own, at Caddyfile:4`},
		{"upstream_errors {\n\t\tproxy_status\n\t}",
			"proxy_status takes exactly one value, got 0, at Caddyfile:3"},
		{"upstream_errors {\n\t\ttype \"not a uri\"\n\t}",
			`type "not a uri": not a URI reference, at Caddyfile:4`},
	} {
		_, err := adapt(t, site("\t"+tc.block+"\n\treverse_proxy legacy:8080"))
		if err == nil || err.Error() != prefix+tc.want {
			t.Errorf("%q:\n got %v\nwant %s", tc.block, err, prefix+tc.want)
		}
	}
}
