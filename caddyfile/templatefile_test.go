package caddyfile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// templateSite is a site whose directive reads its HTML body from page,
// served on a loopback port.
func templateSite(t *testing.T, page string) string {
	t.Helper()
	return fmt.Sprintf(`http://127.0.0.1:%d {
	upstream_errors {
		template html file %s
	}
	reverse_proxy 127.0.0.1:1
}
`, testcaddy.FreePort(t), page)
}

// TestTemplateFileReadAtProvision: `caddy adapt` (and `caddy validate`'s
// adapt step) works on a machine without the template file; loading the
// config (`caddy run`, `caddy reload`) reads it and fails early, naming
// the file, when it is missing or broken.
func TestTemplateFileReadAtProvision(t *testing.T) {
	page := filepath.Join(t.TempDir(), "error.html")
	cfg, err := adapt(t, templateSite(t, page))
	if err != nil {
		t.Fatalf("adapting without the template file: %v", err)
	}
	load := func() error {
		err := caddy.Load([]byte(`{"admin":{"disabled":true},`+cfg[1:]), true)
		if err == nil {
			_ = caddy.Stop()
		}
		return err
	}

	wantEnd := fmt.Sprintf("loading module 'upstream_errors': provision http.handlers.upstream_errors: templates: html: open %s: no such file or directory", page)
	if err := load(); err == nil || !strings.HasSuffix(err.Error(), wantEnd) {
		t.Errorf("loading without the template file:\n got %v\nwant an error ending %q", err, wantEnd)
	}

	if err := os.WriteFile(page, []byte("<p>{{.Status"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantEnd = fmt.Sprintf("provision http.handlers.upstream_errors: templates: html: template: html:1: unclosed action (from %s)", page)
	if err := load(); err == nil || !strings.HasSuffix(err.Error(), wantEnd) {
		t.Errorf("loading a broken template file:\n got %v\nwant an error ending %q", err, wantEnd)
	}

	if err := os.WriteFile(page, []byte("<p>{{.Status}} {http.request.host}</p>"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := load(); err != nil {
		t.Errorf("loading with the template file: %v", err)
	}
}
