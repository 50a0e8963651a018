package caddyfile

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// TestSubdirectivesListed keeps the names the unknown-subdirective error
// lists equal to the syntax in the package doc, and checks that Unmarshal
// knows each of them, so a new sub-directive cannot be left out of the
// list.
func TestSubdirectivesListed(t *testing.T) {
	src, err := os.ReadFile("caddyfile.go")
	if err != nil {
		t.Fatal(err)
	}
	var documented []string
	in := false
	for line := range strings.Lines(string(src)) {
		line = strings.TrimSpace(strings.TrimPrefix(line, "//"))
		switch {
		case strings.HasPrefix(line, Directive+" [<matcher>] {"):
			in = true
		case in && line == "}":
			in = false
		case in:
			documented = append(documented, strings.Fields(line)[0])
		}
	}
	slices.Sort(documented)
	if !slices.Equal(documented, subdirectives) {
		t.Errorf("package doc syntax has\n%q\nthe error lists\n%q", documented, subdirectives)
	}
	if !slices.IsSorted(subdirectives) {
		t.Errorf("subdirectives are not sorted: %q", subdirectives)
	}
	for _, sub := range subdirectives {
		// with no arguments every sub-directive fails, but not as unknown
		err := Unmarshal(caddyfile.NewTestDispenser(Directive+" {\n"+sub+"\n}"), new(upstreamerrors.Handler))
		if err != nil && strings.Contains(err.Error(), "unknown subdirective") {
			t.Errorf("%s: %v", sub, err)
		}
	}
}
