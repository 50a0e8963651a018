package command_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// runCheck runs `caddy upstream-errors check` on a Caddyfile and returns
// its output and exit status.
func runCheck(t *testing.T, caddyfile string) (string, int) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(file, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testcaddy.Binary(t), "upstream-errors", "check", "--config", file).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &exit):
		return string(out), exit.ExitCode()
	}
	t.Fatalf("running check: %v\n%s", err, out)
	return "", 0
}

func TestCheckReportsDirectiveThatCannotAct(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the caddy binary")
	}
	out, code := runCheck(t, `a.example:8080 {
	route /app/* {
		reverse_proxy 127.0.0.1:9
		upstream_errors
	}
}

b.example:8080 {
	handle /api/* {
		upstream_errors
	}
	handle {
		reverse_proxy 127.0.0.1:9
	}
}
`)
	if code != 1 {
		t.Fatalf("exit status %d, want 1 for a config with findings:\n%s", code, out)
	}
	for _, want := range []string{
		"upstream_errors never runs: reverse_proxy before it in the same route",
		"route path /app/*",
		"upstream_errors covers nothing",
		"route path /api/*",
		"site a.example",
		"site b.example",
		"2 finding(s)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckPassesValidConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the caddy binary")
	}
	out, code := runCheck(t, `:8080 {
	upstream_errors
	reverse_proxy 127.0.0.1:9
}
`)
	if code != 0 || !strings.Contains(out, "upstream_errors can act everywhere it is placed") {
		t.Fatalf("exit status %d for a valid config:\n%s", code, out)
	}
}

func TestCheckReportsUnreadableConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the caddy binary")
	}
	out, code := runCheck(t, ":8080 {\n\tupstream_errors {\n\t\tformat nope\n\t}\n}\n")
	if code == 0 || !strings.Contains(out, "nope") {
		t.Fatalf("exit status %d for a config that does not adapt:\n%s", code, out)
	}
}

// `caddy validate` warns about what the handler is certain of at load.
func TestValidateWarnsUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the caddy binary")
	}
	file := filepath.Join(t.TempDir(), "Caddyfile")
	cf := "{\n\tadmin off\n}\n\n:8080 {\n\troute {\n\t\treverse_proxy 127.0.0.1:9\n\t\tupstream_errors\n\t}\n}\n"
	if err := os.WriteFile(file, []byte(cf), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testcaddy.Binary(t), "validate", "--config", file).CombinedOutput()
	if err != nil {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), `"level":"warn"`) || !strings.Contains(string(out), "upstream_errors never runs: reverse_proxy before it") {
		t.Errorf("validate does not warn:\n%s", out)
	}
}
