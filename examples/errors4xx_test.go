package examples_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

func testLegacyAPI(t *testing.T) {
	t.Run("up", func(t *testing.T) {
		up := backend(t)
		c := start(t, adapt(t, "legacy-api", "LEGACY", up))
		expectOK(t, c, "/ok")
		for _, tc := range []struct {
			path   string
			status int
			field  string
			value  string
		}{
			{"/login", 401, "WWW-Authenticate", `Basic realm="Legacy App"`},
			{"/submit", 405, "Allow", "POST"},
			{"/limit", 429, "Retry-After", "30"},
			{"/nothing/here", 404, "", ""},
		} {
			t.Run(tc.path, func(t *testing.T) {
				res, p := expectProblem(t, c, tc.path, tc.status, "http_response_status")
				if p.Detail != testcaddy.ClientDetails[tc.status] {
					t.Errorf("GET %s: detail %q, want %q", tc.path, p.Detail, testcaddy.ClientDetails[tc.status])
				}
				if tc.field != "" && res.Header.Get(tc.field) != tc.value {
					t.Errorf("GET %s: %s = %q, want the backend's %q", tc.path, tc.field, res.Header.Get(tc.field), tc.value)
				}
				if v := res.Header.Get("X-Powered-By"); v != "" {
					t.Errorf("GET %s: X-Powered-By %q leaked", tc.path, v)
				}
			})
		}
		// the backend's JSON validation error is for the client: untouched
		direct, err := http.Get("http://" + up + "/validate")
		if err != nil {
			t.Fatal(err)
		}
		want, _ := io.ReadAll(direct.Body)
		direct.Body.Close()
		res, body := get(t, c, "/validate")
		if res.StatusCode != 422 || string(body) != string(want) || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("GET /validate: %d %q %s, want the backend's 422 %s", res.StatusCode, res.Header.Get("Content-Type"), body, want)
		}
		// its 5xx pages are replaced as before
		expectProblem(t, c, "/error", 502, "http_response_status")
	})
	t.Run("down", func(t *testing.T) {
		c := start(t, adapt(t, "legacy-api", "LEGACY", testcaddy.ClosedPort(t)))
		expectProblem(t, c, "/login", 502, "connection_refused")
	})
}

func testSiteErrors(t *testing.T) {
	docs := t.TempDir()
	if err := os.WriteFile(filepath.Join(docs, "index.html"), []byte("<h1>Docs</h1>"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("up", func(t *testing.T) {
		c := start(t, adapt(t, "site-errors", "LEGACY", backend(t), "DOCS", docs))
		expectOK(t, c, "/ok")
		expectOK(t, c, "/docs/")
		_, p := expectProblem(t, c, "/docs/nothing.html", 404, "http_request_error", "Accept", "application/problem+json")
		if p.Detail != testcaddy.ClientDetails[404] {
			t.Errorf("detail %q, want %q", p.Detail, testcaddy.ClientDetails[404])
		}
		// a browser gets the site's page for its own 404
		res, body := get(t, c, "/docs/nothing.html")
		if res.StatusCode != 404 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), testcaddy.ClientDetails[404]) {
			t.Errorf("GET /docs/nothing.html: %d %q\n%s", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		res, p = expectProblem(t, c, "/reports/monthly", 503, "proxy_internal_response", "Accept", "application/problem+json")
		if ra := res.Header.Get("Retry-After"); ra != "3600" {
			t.Errorf("Retry-After = %q, want the site's 3600", ra)
		}
		if p.Detail != testcaddy.LocalServerDetails[503] {
			t.Errorf("detail %q, want %q", p.Detail, testcaddy.LocalServerDetails[503])
		}
		expectProblem(t, c, "/error", 502, "http_response_status", "Accept", "application/problem+json")
	})
	t.Run("down", func(t *testing.T) {
		c := start(t, adapt(t, "site-errors", "LEGACY", testcaddy.ClosedPort(t), "DOCS", docs))
		expectProblem(t, c, "/", 502, "connection_refused", "Accept", "application/problem+json")
		expectProblem(t, c, "/docs/missing", 404, "http_request_error", "Accept", "application/problem+json")
	})
}
