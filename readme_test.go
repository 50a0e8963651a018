package caddyupstreamerrors_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-upstream-errors/caddy-upstream-errors"
	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// fence matches a fenced code block and its language.
var fence = regexp.MustCompile("(?s)```(\\w+)\\n(.*?)```")

// readmeBlocks returns the README's code blocks in language lang, with the
// template file the examples name pointing at a real file.
func readmeBlocks(t *testing.T, lang string) []string {
	t.Helper()
	data, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "error.html")
	if err := os.WriteFile(page, []byte("<h1>{{.Status}} {{.Title}}</h1>"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range fence.FindAllStringSubmatch(string(data), -1) {
		if m[1] == lang {
			out = append(out, strings.ReplaceAll(m[2], "/etc/caddy/error.html", page))
		}
	}
	return out
}

// TestReadmeCaddyfiles adapts every Caddyfile snippet in the README, so
// the documentation cannot drift from the directive.
func TestReadmeCaddyfiles(t *testing.T) {
	blocks := readmeBlocks(t, "caddyfile")
	if len(blocks) < 4 {
		t.Fatalf("found %d Caddyfile blocks", len(blocks))
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	for _, b := range blocks {
		if strings.Contains(b, "<matcher>") {
			continue // the syntax summary
		}
		if !strings.Contains(b, "{\n") || strings.HasPrefix(b, "upstream_errors") || strings.HasPrefix(b, "log_append") {
			// a snippet of directives: put it in a site
			b = ":8080 {\n" + b + "\nupstream_errors\nreverse_proxy legacy:8080\n}\n"
			if strings.Contains(b, "upstream_errors {") {
				b = strings.Replace(b, "\nupstream_errors\nreverse_proxy", "\nreverse_proxy", 1)
			}
		}
		if _, _, err := adapter.Adapt([]byte(b), map[string]any{"filename": "README"}); err != nil {
			t.Errorf("README snippet does not adapt: %v\n%s", err, b)
		}
	}
}

// TestReadmeJSON decodes the README's handler JSON strictly and validates it.
func TestReadmeJSON(t *testing.T) {
	var found bool
	for _, b := range readmeBlocks(t, "json") {
		if !strings.Contains(b, `"handler": "upstream_errors"`) {
			continue
		}
		found = true
		// the module name goes; every other member must be a config field
		var m map[string]any
		if err := json.Unmarshal([]byte(b), &m); err != nil {
			t.Fatal(err)
		}
		delete(m, "handler")
		cfg, _ := json.Marshal(m)
		dec := json.NewDecoder(bytes.NewReader(cfg))
		dec.DisallowUnknownFields()
		var h upstreamerrors.Handler
		if err := dec.Decode(&h); err != nil {
			t.Fatalf("README JSON: %v", err)
		}
		if err := h.Validate(); err != nil {
			t.Errorf("README JSON: %v", err)
		}
	}
	if !found {
		t.Error("no handler JSON in the README")
	}
}
