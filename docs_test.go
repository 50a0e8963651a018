package caddyupstreamerrors_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// docsPages returns the pages in docs/.
func docsPages(t *testing.T) []string {
	t.Helper()
	pages, err := filepath.Glob("docs/*.md")
	if err != nil || len(pages) == 0 {
		t.Fatalf("no pages in docs/: %v", err)
	}
	return pages
}

// TestDocsCaddyfiles adapts every Caddyfile in docs/, a snippet of
// directives in a site, so a recipe cannot drift from the directive; none
// may warn.
func TestDocsCaddyfiles(t *testing.T) {
	adapter := caddyconfig.GetAdapter("caddyfile")
	page := errorPage(t)
	n := 0
	for _, doc := range docsPages(t) {
		for _, b := range blocksOf(codeBlocks(t, doc), "caddyfile") {
			n++
			cf := asCaddyfile(strings.ReplaceAll(b.body, "/etc/caddy/error.html", page))
			_, warns, err := adapter.Adapt([]byte(cf), map[string]any{"filename": doc})
			if err != nil {
				t.Errorf("%s:%d: Caddyfile does not adapt: %v\n%s", doc, b.line, err, cf)
			}
			if len(warns) > 0 {
				t.Errorf("%s:%d: Caddyfile adapts with warnings: %v\n%s", doc, b.line, warns, cf)
			}
		}
	}
	if n == 0 {
		t.Error("no Caddyfile in docs/")
	}
}

// TestDocsJSON decodes each handler JSON in docs/ strictly and validates
// it; every other JSON block must parse, log excerpts line by line.
func TestDocsJSON(t *testing.T) {
	for _, doc := range docsPages(t) {
		for _, b := range blocksOf(codeBlocks(t, doc), "json") {
			if isLogBlock(b.body) {
				continue
			}
			checkHandlerJSON(t, fmt.Sprintf("%s:%d", doc, b.line), b.body)
		}
	}
}

// TestDocsDemo checks the demo's answers, log entries and load messages
// that docs/ quotes, as TestReadmeDemo does for the README.
func TestDocsDemo(t *testing.T) {
	n := 0
	for _, doc := range docsPages(t) {
		t.Run(filepath.Base(doc), func(t *testing.T) {
			n += checkDemoQuotes(t, doc)
		})
	}
	if n == 0 {
		t.Error("docs/ quotes nothing of the demo")
	}
}

// markdownLink matches a link's target; images and autolinks aside.
var markdownLink = regexp.MustCompile(`\]\(([^)\s]+)\)`)

// TestDocsLinks checks every relative link of the README and docs/: the
// file exists, and an anchor names a heading of it.
func TestDocsLinks(t *testing.T) {
	pages := append([]string{"README.md", "examples/json/README.md"}, docsPages(t)...)
	for _, page := range pages {
		data, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range markdownLink.FindAllStringSubmatch(string(data), -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
				if _, err := os.Stat(path); err != nil { //nolint:gosec // a link of the repository's own docs
					t.Errorf("%s: link to %s: %v", page, target, err)
					continue
				}
			}
			if anchor == "" {
				continue
			}
			if !hasAnchor(t, path, anchor) {
				t.Errorf("%s: link to %s: %s has no heading #%s", page, target, path, anchor)
			}
		}
	}
}

// hasAnchor reports whether a Markdown page has a heading whose GitHub
// anchor is anchor.
func hasAnchor(t *testing.T, page, anchor string) bool {
	t.Helper()
	data, err := os.ReadFile(page) //nolint:gosec // a page of the repository's own docs
	if err != nil {
		t.Fatal(err)
	}
	inCode := false
	for l := range strings.SplitSeq(string(data), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(l, "#") {
			continue
		}
		if slug(strings.TrimLeft(l, "# ")) == anchor {
			return true
		}
	}
	return false
}

// slug is GitHub's anchor for a heading: lower case, spaces as dashes,
// punctuation other than dashes and underscores dropped.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		}
	}
	return b.String()
}
