package upstreamerrors_test

import (
	"strings"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/window"
)

// One site-level directive with a named window covers every shape a site
// is written in: during the window each path is answered 503 maintenance
// once (one log entry, whatever wraps it), none reaches the upstream, a
// bypassed request does, and when the window ends every path passes.
func TestWindowInSiteShapes(t *testing.T) {
	for _, tc := range []struct {
		name, site string
		paths      []string
	}{
		{"handle blocks", `handle /api/* {
	reverse_proxy UP
}
handle {
	reverse_proxy UP
}`, []string{"/api/x", "/shop"}},
		{"route", `route {
	header X-Route yes
	reverse_proxy UP
}`, []string{"/x"}},
		{"forward_auth", `forward_auth UP {
	uri /auth
}
reverse_proxy UP`, []string{"/x"}},
		{"handle_response", `reverse_proxy UP {
	@err status 500
	handle_response @err {
		respond "the site's own page" 503
	}
}`, []string{"/x"}},
		{"encode", `encode gzip
reverse_proxy UP`, []string{"/x"}},
		{"nested handle_path", `handle_path /v1/* {
	route {
		reverse_proxy UP
	}
}
handle {
	reverse_proxy UP
}`, []string{"/v1/x", "/y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store, opts := windowStorage(t)
			up, hits := countingUpstream(t)
			setWindow(t, store, "shop", window.State{On: true})
			c := testcaddy.StartCaddyfile(t, `@team header X-Team-Token s3cret
upstream_errors {
	maintenance {
		window shop
		bypass @team
	}
}
`+strings.ReplaceAll(tc.site, "UP", up), opts)

			for _, path := range tc.paths {
				res, body, id := request(t, c, "GET", path, "Accept-Encoding", "gzip")
				if res.StatusCode != 503 || !strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") ||
					res.Header.Get("Retry-After") == "" || !strings.Contains(string(body), `"cause":"maintenance"`) {
					t.Errorf("%s during the window: %d %v %q, want the maintenance problem", path, res.StatusCode, res.Header, body)
				}
				expectMaintenanceEntry(t, c, id, "GET", path)
			}
			if n := hits.Load(); n != 0 {
				t.Fatalf("the upstream got %d requests during the window", n)
			}
			for _, path := range tc.paths {
				before := hits.Load()
				if res, body, _ := request(t, c, "GET", path, "X-Team-Token", "s3cret"); res.StatusCode != 200 || hits.Load() == before {
					t.Errorf("%s bypassed: %d %q, want the upstream's 200", path, res.StatusCode, body)
				}
			}

			setWindow(t, store, "shop", window.State{})
			for _, path := range tc.paths {
				eventually(t, path+" passing after the window", func() bool {
					res, _, _ := request(t, c, "GET", path)
					return res.StatusCode == 200
				})
			}
		})
	}
}
