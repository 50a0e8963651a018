package caddyfile_test

import (
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// FuzzAdapt feeds arbitrary directive blocks (and whole files) to the
// adapter: any input must give a config or an error, never a panic.
func FuzzAdapt(f *testing.F) {
	for _, seed := range []string{
		"status connection_refused 503",
		"intercept 500-504 5xx\nretry_after 30",
		"template json inline <<X\n{\"a\": \"{{.Status}}\"}\nX",
		"template html inline \"{{.Bogus\"",
		"member a {http.request.host}\nproxy_status off",
		"keep_headers\ndiscard_limit -1",
		"format\nformat xml\n{\n}}",
		"status 5xx-6xx 502\nstatus timeout 99999999999999999999",
	} {
		f.Add(seed)
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	f.Fuzz(func(t *testing.T, block string) {
		_, _, _ = adapter.Adapt([]byte(":8080 {\n\tupstream_errors {\n"+block+"\n\t}\n\treverse_proxy legacy:8080\n}\n"), nil)
		_, _, _ = adapter.Adapt([]byte(":8080 {\n\tupstream_errors "+block+"\n}\n"), nil)
	})
}
