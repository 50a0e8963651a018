package caddyfile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// readmeFullerExample returns the README's fuller example, served on a
// loopback port, with its template path replaced by page.
func readmeFullerExample(t *testing.T, page string) string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range regexp.MustCompile("(?s)```caddyfile\\n(.*?)```").FindAllStringSubmatch(string(readme), -1) {
		if strings.Contains(m[1], "template html file /etc/caddy/error.html") && strings.HasPrefix(m[1], "example.com {") {
			site := fmt.Sprintf("http://127.0.0.1:%d {", testcaddy.FreePort(t))
			cfg := strings.Replace(m[1], "example.com {", site, 1)
			return strings.ReplaceAll(cfg, "/etc/caddy/error.html", page)
		}
	}
	t.Fatal("no fuller example with a template file in the README")
	return ""
}

// TestTemplateFileReadAtProvision: `caddy adapt` (and `caddy validate`'s
// adapt step) works on a machine without the template file; loading the
// config (`caddy run`, `caddy reload`) reads it and fails early, naming
// the file, when it is missing or broken.
func TestTemplateFileReadAtProvision(t *testing.T) {
	page := filepath.Join(t.TempDir(), "error.html")
	cfg, err := adapt(t, readmeFullerExample(t, page))
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

	if err := os.WriteFile(page, []byte("<p>{{.Status"), 0o644); err != nil {
		t.Fatal(err)
	}
	wantEnd = fmt.Sprintf("provision http.handlers.upstream_errors: templates: html: template: html:1: unclosed action (from %s)", page)
	if err := load(); err == nil || !strings.HasSuffix(err.Error(), wantEnd) {
		t.Errorf("loading a broken template file:\n got %v\nwant an error ending %q", err, wantEnd)
	}

	if err := os.WriteFile(page, []byte("<p>{{.Status}} {http.request.host}</p>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := load(); err != nil {
		t.Errorf("loading with the template file: %v", err)
	}
}
