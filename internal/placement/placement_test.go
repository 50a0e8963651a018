package placement_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/placement"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

func check(t *testing.T, caddyfile string) []placement.Finding {
	t.Helper()
	cfg, err := testcaddy.Adapt(strings.TrimSpace(caddyfile) + "\n")
	if err != nil {
		t.Fatalf("adapting:\n%s\n%v", caddyfile, err)
	}
	findings, err := placement.Check(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return findings
}

// Every shape the docs and examples recommend is a valid place: a warning
// about any of them would teach users to ignore the check.
func TestValidShapesHaveNoFinding(t *testing.T) {
	shapes := map[string]string{
		"site level": `:80 {
	upstream_errors
	handle_path /api/* {
		reverse_proxy 127.0.0.1:9
	}
	route /legacy/* {
		reverse_proxy 127.0.0.1:9
	}
	handle {
		php_fastcgi 127.0.0.1:9
	}
}`,
		"first in a route": `:80 {
	route {
		encode gzip
		upstream_errors
		reverse_proxy 127.0.0.1:9
	}
}`,
		"per block": `:80 {
	handle /api/* {
		upstream_errors
		reverse_proxy 127.0.0.1:9
	}
	handle {
		upstream_errors {
			format html
		}
		file_server
		reverse_proxy 127.0.0.1:9
	}
}`,
		"forward_auth only": `:80 {
	upstream_errors
	forward_auth 127.0.0.1:9 {
		uri /auth
	}
	respond "ok"
}`,
		"error route": `:80 {
	respond /x 404
	handle_errors {
		upstream_errors
	}
}`,
		"two sites": `a.example:80 {
	upstream_errors
	reverse_proxy 127.0.0.1:9
}
b.example:80 {
	respond "b"
}`,
		"invoke": `&(app) {
	reverse_proxy 127.0.0.1:9
}
:80 {
	upstream_errors
	invoke app
}`,
		"matcher": `:80 {
	upstream_errors /api/*
	reverse_proxy 127.0.0.1:9
}`,
		"intercept with 5xx": `:80 {
	upstream_errors {
		intercept 404 5xx
	}
	reverse_proxy 127.0.0.1:9
}`,
		"intercept off": `:80 {
	upstream_errors {
		intercept off
	}
	reverse_proxy 127.0.0.1:9
}`,
	}
	for name, cf := range shapes {
		t.Run(name, func(t *testing.T) {
			if f := check(t, cf); len(f) > 0 {
				t.Errorf("findings for a valid shape:\n%s\n%v", cf, f)
			}
		})
	}
}

func TestExamplesHaveNoFinding(t *testing.T) {
	files, _ := filepath.Glob("../../examples/*/Caddyfile")
	if len(files) == 0 {
		t.Fatal("no example Caddyfiles found")
	}
	for _, file := range files {
		t.Run(filepath.Base(filepath.Dir(file)), func(t *testing.T) {
			text, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			t.Chdir(filepath.Dir(file))
			if f := check(t, string(text)); len(f) > 0 {
				t.Errorf("%s: %v", file, f)
			}
		})
	}
	cfg, err := os.ReadFile("../../examples/json/caddy.json")
	if err != nil {
		t.Fatal(err)
	}
	if f, err := placement.Check(cfg); err != nil || len(f) > 0 {
		t.Errorf("examples/json/caddy.json: %v %v", f, err)
	}
}

// The placement page's snippets are the user's reference: the ones it
// marks as doing nothing are found, every other one is not.
func TestPlacementDocSnippets(t *testing.T) {
	doc, err := os.ReadFile("../../docs/placement.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```caddyfile\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	if len(blocks) < 5 {
		t.Fatalf("only %d caddyfile blocks in docs/placement.md", len(blocks))
	}
	marked := 0
	for _, b := range blocks {
		text := strings.ReplaceAll(b[1], "example.com", ":80")
		f := check(t, text)
		want := ""
		switch {
		case strings.Contains(text, "# never runs"):
			want = placement.KindUnreachable
		case strings.Contains(text, "# covers nothing"):
			want = placement.KindCoversNothing
		}
		if want == "" {
			if len(f) > 0 {
				t.Errorf("findings for a documented shape:\n%s\n%v", text, f)
			}
			continue
		}
		marked++
		if len(f) != 1 || f[0].Kind != want {
			t.Errorf("want one %s finding for:\n%s\ngot %v", want, text, f)
		}
	}
	if marked < 2 {
		t.Errorf("docs/placement.md marks %d snippets as doing nothing, want the route and block ones", marked)
	}
}

func TestFindings(t *testing.T) {
	cases := []struct {
		name, caddyfile, kind string
		says                  []string
	}{
		{"after reverse_proxy in a route", `:80 {
	route /r/* {
		reverse_proxy 127.0.0.1:9
		upstream_errors
	}
}`, placement.KindUnreachable, []string{"reverse_proxy before it", "move upstream_errors above reverse_proxy", "path /r/*"}},
		{"after php_fastcgi in a route", `:80 {
	route {
		php_fastcgi 127.0.0.1:9
		upstream_errors
	}
}`, placement.KindCoversNothing, []string{"covers nothing"}}, // php_fastcgi answers only *.php
		{"after respond", `:80 {
	route {
		respond "x"
		upstream_errors
		reverse_proxy 127.0.0.1:9
	}
}`, placement.KindUnreachable, []string{"respond"}},
		{"after file_server", `:80 {
	route {
		file_server
		upstream_errors
		reverse_proxy 127.0.0.1:9
	}
}`, placement.KindUnreachable, []string{"file_server"}},
		{"in a block without a proxy", `:80 {
	handle /api/* {
		upstream_errors
	}
	handle {
		reverse_proxy 127.0.0.1:9
	}
}`, placement.KindCoversNothing, []string{"covers nothing", "path /api/*", "top of the site"}},
		{"site without a proxy", `a.example:80 {
	upstream_errors
	respond "a"
}
b.example:80 {
	reverse_proxy 127.0.0.1:9
}`, placement.KindCoversNothing, []string{"site a.example"}},
		{"intercept without 5xx", `:80 {
	upstream_errors {
		intercept 404 429
	}
	reverse_proxy 127.0.0.1:9
}`, placement.KindInterceptNo5xx, []string{"intercept 404 429 5xx"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := check(t, c.caddyfile)
			if len(f) != 1 || f[0].Kind != c.kind {
				t.Fatalf("want one %s finding, got %v", c.kind, f)
			}
			s := f[0].String()
			for _, w := range c.says {
				if !strings.Contains(s, w) {
					t.Errorf("finding %q does not say %q", s, w)
				}
			}
		})
	}
}

func TestInterceptNo5xx(t *testing.T) {
	for list, want := range map[string]bool{
		"404":         true,
		"4xx":         true,
		"404 429":     true,
		"5xx":         false,
		"404 502":     false,
		"400-599":     false,
		"400-499":     true,
		"bogus":       false,
		"404 500-503": false,
	} {
		if got := placement.InterceptNo5xx(strings.Fields(list)); got != want {
			t.Errorf("InterceptNo5xx(%s) = %v, want %v", list, got, want)
		}
	}
}
