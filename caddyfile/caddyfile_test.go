package caddyfile_test

import (
	"encoding/json"
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

func TestAdaptErrors(t *testing.T) {
	for _, tc := range []struct {
		block, want string
	}{
		{"upstream_errors {\n\t\tcolour red\n\t}", `upstream_errors: unknown subdirective "colour", at Caddyfile:3`},
		{"upstream_errors json", `upstream_errors: unexpected argument "json"; settings go in a block`},
		{"upstream_errors {\n\t\tstatus connection_refused\n\t}", "upstream_errors: status takes a key and a status"},
		{"upstream_errors {\n\t\tstatus connection_refused abc\n\t}", `upstream_errors: status connection_refused: "abc" is not a status code`},
		{"upstream_errors {\n\t\tstatus connection_refused 404\n\t}", `upstream_errors: status_map "connection_refused": target 404 is not a 5xx status`},
		{"upstream_errors {\n\t\tstatus connection_refused 999\n\t}", `upstream_errors: status_map "connection_refused": status 999 is outside 100-599`},
		{"upstream_errors {\n\t\tstatus refused 502\n\t}", `upstream_errors: status_map: unknown key "refused"`},
		{"upstream_errors {\n\t\tstatus 502 502\n\t\tstatus 502 503\n\t}", "upstream_errors: status 502: mapped twice"},
		{"upstream_errors {\n\t\tintercept\n\t}", "upstream_errors: intercept needs statuses"},
		{"upstream_errors {\n\t\tintercept 404\n\t}", `upstream_errors: intercept "404": only 5xx upstream statuses can be intercepted`},
		{"upstream_errors {\n\t\tintercept 5xx-6xx\n\t}", `upstream_errors: intercept: "5xx" is not an HTTP status code`},
		{"upstream_errors {\n\t\tretry_after -5\n\t}", "upstream_errors: retry_after -5s: must not be negative"},
		{"upstream_errors {\n\t\tretry_after soon\n\t}", `upstream_errors: retry_after "soon"`},
		{"upstream_errors {\n\t\tretry_after 1 2\n\t}", "wrong argument count or unexpected line ending after '1'"},
		{"upstream_errors {\n\t\tkeep_headers\n\t}", "upstream_errors: keep_headers needs at least one header field"},
		{"upstream_errors {\n\t\tkeep_headers \"Bad Header\"\n\t}", `upstream_errors: keep_headers "Bad Header": not a valid header field name`},
		{"upstream_errors {\n\t\tdiscard_limit lots\n\t}", `upstream_errors: discard_limit "lots"`},
		{"upstream_errors {\n\t\trequest_id_header \"X Id\"\n\t}", `upstream_errors: request_id_header "X Id": not a valid header field name`},
	} {
		_, err := adapt(t, site("\t"+tc.block+"\n\treverse_proxy legacy:8080"))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q:\n got %v\nwant %q", tc.block, err, tc.want)
		}
	}
}
