package caddyupstreamerrors_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// docsBlocks returns the code blocks in language lang of every page in
// docs/, by page.
func docsBlocks(t *testing.T, lang string) map[string][]string {
	t.Helper()
	pages, err := filepath.Glob("docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages in docs/: %v", err)
	}
	out := make(map[string][]string)
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range fence.FindAllStringSubmatch(string(data), -1) {
			if m[1] == lang {
				out[page] = append(out[page], m[2])
			}
		}
	}
	return out
}

// TestDocsCaddyfiles adapts every Caddyfile in docs/ as it is written, so
// a recipe cannot drift from the directive.
func TestDocsCaddyfiles(t *testing.T) {
	adapter := caddyconfig.GetAdapter("caddyfile")
	n := 0
	for page, blocks := range docsBlocks(t, "caddyfile") {
		for _, b := range blocks {
			n++
			_, warns, err := adapter.Adapt([]byte(b), map[string]any{"filename": page})
			if err != nil {
				t.Errorf("%s: Caddyfile does not adapt: %v\n%s", page, err, b)
			}
			if len(warns) > 0 {
				t.Errorf("%s: Caddyfile adapts with warnings: %v\n%s", page, warns, b)
			}
		}
	}
	if n == 0 {
		t.Error("no Caddyfile in docs/")
	}
}

// TestDocsJSON decodes each handler JSON in docs/ strictly and validates it.
func TestDocsJSON(t *testing.T) {
	for page, blocks := range docsBlocks(t, "json") {
		for _, b := range blocks {
			var m map[string]any
			if err := json.Unmarshal([]byte(b), &m); err != nil {
				t.Fatalf("%s: %v\n%s", page, err, b)
			}
			if m["handler"] != "upstream_errors" {
				continue
			}
			delete(m, "handler")
			cfg, _ := json.Marshal(m)
			dec := json.NewDecoder(bytes.NewReader(cfg))
			dec.DisallowUnknownFields()
			var h upstreamerrors.Handler
			if err := dec.Decode(&h); err != nil {
				t.Errorf("%s: %v\n%s", page, err, b)
				continue
			}
			if err := h.Validate(); err != nil {
				t.Errorf("%s: %v\n%s", page, err, b)
			}
		}
	}
}
