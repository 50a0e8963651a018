package caddyfile_test

import (
	"encoding/json"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// FuzzAdapt feeds arbitrary directive blocks (and whole files) to the
// adapter: any input must give a config or an error, never a panic, and a
// config the adapter accepts must still pass the handler's own Validate
// once written out as JSON and read back, as Caddy loads it.
func FuzzAdapt(f *testing.F) {
	for _, seed := range []string{
		"status connection_refused 503",
		"intercept 500-504 5xx\nretry_after 30",
		"template json inline <<X\n{\"a\": \"{{.Status}}\"}\nX",
		"template html inline \"{{.Bogus\"",
		"member a {http.request.host}\nproxy_status off",
		"keep_headers\ndiscard_limit -1",
		"format\nformat xml\n{\n}}", //nolint:dupword // a repeated sub-directive is the input
		"status 5xx-6xx 502\nstatus timeout 99999999999999999999",
		"intercept off\nintercept 500",
		"proxy_status off\nproxy_status edge",
		"retry_after 99999999999999\ndiscard_limit 0",
		"member a 1\nmember a 2\nkeep_headers Content-Encoding",
		"template html file /nonexistent/error.html",
	} {
		f.Add(seed)
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	f.Fuzz(func(t *testing.T, block string) {
		for _, file := range []string{
			":8080 {\n\tupstream_errors {\n" + block + "\n\t}\n\treverse_proxy legacy:8080\n}\n",
			":8080 {\n\tupstream_errors " + block + "\n}\n",
		} {
			out, _, err := adapter.Adapt([]byte(file), nil)
			if err != nil {
				continue
			}
			for _, h := range handlers(t, out) {
				if err := h.Validate(); err != nil {
					t.Errorf("adapted config fails Validate: %v\n%s", err, file)
				}
			}
		}
	})
}

// handlers decodes every upstream_errors handler in an adapted config.
func handlers(t *testing.T, cfg []byte) []upstreamerrors.Handler {
	t.Helper()
	var c struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []json.RawMessage `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(cfg, &c); err != nil {
		t.Fatal(err)
	}
	var out []upstreamerrors.Handler
	for _, srv := range c.Apps.HTTP.Servers {
		for _, r := range srv.Routes {
			for _, raw := range r.Handle {
				var h upstreamerrors.Handler
				var name struct {
					Handler string `json:"handler"`
				}
				_ = json.Unmarshal(raw, &name)
				if name.Handler != "upstream_errors" {
					continue
				}
				if err := json.Unmarshal(raw, &h); err != nil {
					t.Fatal(err)
				}
				out = append(out, h)
			}
		}
	}
	return out
}
