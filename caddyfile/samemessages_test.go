package caddyfile_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// A bad value gets the same message from the Caddyfile and from JSON: the
// rule is the handler's Validate in both, and only the name in front
// differs, the sub-directive the user typed or the JSON field.
func TestSameMessageFromCaddyfileAndJSON(t *testing.T) {
	for _, tc := range []struct {
		caddyfile, sub string // a line of the block, the name it is reported under
		json, field    string // the same value in the handler's JSON, its field
	}{
		{"status timeout 404", "status", `"status_map": {"timeout": 404}`, "status_map"},
		{"status refused 502", "status", `"status_map": {"refused": 502}`, "status_map"},
		{"intercept 500 304", "intercept", `"intercept": ["500", "304"]`, "intercept"},
		{"pass_json json", "pass_json", `"pass_json": ["json"]`, "pass_json"},
		{"retry_after 25h", "retry_after", `"retry_after": 90000000000000`, "retry_after"},
		{"retry_after -5", "retry_after", `"retry_after": -5000000000`, "retry_after"},
		{"keep_headers Content-Length", "keep_headers", `"keep_headers": ["Content-Length"]`, "keep_headers"},
		{`request_id_header "X Id"`, "request_id_header", `"request_id_header": "X Id"`, "request_id_header"},
		{"format xml", "format", `"format": "xml"`, "format"},
		{`type "not a uri"`, "type", `"type": "not a uri"`, "type"},
		{`template html inline "{{.Status"`, "template", `"templates": {"html": {"inline": "{{.Status"}}`, "templates"},
		{`template yaml inline "a: 1"`, "template", `"templates": {"yaml": {"inline": "a: 1"}}`, "templates"},
		{"member status 200", "member", `"members": {"status": "200"}`, "members"},
		{"proxy_status édge", "proxy_status", `"proxy_status_name": "édge"`, "proxy_status_name"},
		{"maintenance {\nwindow ../etc\n}", "maintenance: window", `"maintenance": {"window": "../etc"}`, "maintenance: window"},
		{"maintenance /run/m {\nallow 10.0.0.300\n}", "maintenance: allow", `"maintenance": {"file": "/run/m", "allow": ["10.0.0.300"]}`, "maintenance: allow"},
		{"maintenance {\nwindow shop\nhold 1h\n}", "maintenance: hold", `"maintenance": {"window": "shop", "hold": 3600000000000}`, "maintenance: hold"},
		{"metrics per_upstream 10001", "metrics: per_upstream", `"metrics": {"per_upstream": true, "max_upstreams": 10001}`, "metrics: max_upstreams"},
		{"recent 20000", "recent", `"recent": 20000`, "recent"},
	} {
		t.Run(tc.caddyfile, func(t *testing.T) {
			_, err := adapt(t, site("\tupstream_errors {\n"+tc.caddyfile+"\n\t}\n\treverse_proxy legacy:8080"))
			if err == nil {
				t.Fatal("the Caddyfile adapted")
			}
			fromCaddyfile, ok := strings.CutPrefix(adaptMessage(err), tc.sub+": ")
			if !ok {
				t.Fatalf("Caddyfile error %q does not name %q", err, tc.sub)
			}
			var h upstreamerrors.Handler
			if err := json.Unmarshal([]byte("{"+tc.json+"}"), &h); err != nil {
				t.Fatal(err)
			}
			err = h.Validate()
			if err == nil {
				t.Fatal("the JSON config validated")
			}
			fromJSON, ok := strings.CutPrefix(err.Error(), tc.field+": ")
			if !ok {
				t.Fatalf("JSON error %q does not name %q", err, tc.field)
			}
			if fromCaddyfile != fromJSON {
				t.Errorf("different messages:\nCaddyfile: %s\n     JSON: %s", fromCaddyfile, fromJSON)
			}
		})
	}
}

// adaptMessage is the adapter's message without the directive it names
// and the line.
func adaptMessage(err error) string {
	msg := strings.TrimPrefix(err.Error(), fmt.Sprintf("parsing caddyfile tokens for '%s': ", "upstream_errors"))
	return regexp.MustCompile(`, at Caddyfile:\d+$`).ReplaceAllString(msg, "")
}
