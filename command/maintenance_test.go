package command_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spf13/cobra"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddy-upstream-errors/caddy-upstream-errors/command"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// execute runs `caddy <args>` in the test process, on the command tree
// the caddy binary builds, and returns what it printed and the error that
// makes the binary exit non-zero.
func execute(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	c, ok := caddycmd.Commands()["upstream-errors"]
	if !ok {
		t.Fatal("upstream-errors is not registered")
	}
	// as caddycmd turns a registered command into cobra's
	sub := &cobra.Command{Use: c.Name + " " + c.Usage, Short: c.Short, Long: c.Long}
	c.CobraFunc(sub)
	root := &cobra.Command{Use: "caddy", SilenceUsage: true}
	root.AddCommand(sub)
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err = root.Execute()
	return out.String(), errOut.String(), err
}

// A mistyped subcommand fails, with cobra's suggestions, rather than
// printing the help and exiting 0 as if the switch had worked.
func TestMaintenanceUnknownSubcommand(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{
			args: []string{"upstream-errors", "maintenance", "of", "shop"},
			want: "unknown command \"of\" for \"caddy upstream-errors maintenance\"\n\nDid you mean this?\n\ton\n\toff",
		},
		{
			args: []string{"upstream-errors", "maintenence", "on", "shop"},                                             //nolint:misspell // the typo under test
			want: "unknown command \"maintenence\" for \"caddy upstream-errors\"\n\nDid you mean this?\n\tmaintenance", //nolint:misspell // the typo under test
		},
		{
			args: []string{"upstream-errors", "maintenance", "restart", "shop"},
			want: `unknown command "restart" for "caddy upstream-errors maintenance"`,
		},
	} {
		t.Run(strings.Join(tc.args[1:], " "), func(t *testing.T) {
			out, _, err := execute(t, tc.args...)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if out != "" {
				t.Errorf("printed %q, want nothing on stdout", out)
			}
			if strings.Contains(tc.want, "restart") && strings.Contains(err.Error(), "Did you mean") {
				t.Errorf("suggests %q for a name like no subcommand", err)
			}
		})
	}
}

// A group command with no subcommand, or with help, prints its help.
func TestMaintenanceGroupHelp(t *testing.T) {
	for _, args := range [][]string{
		{"upstream-errors"},
		{"upstream-errors", "help"},
		{"upstream-errors", "maintenance"},
		{"upstream-errors", "maintenance", "help"},
	} {
		out, _, err := execute(t, args...)
		if err != nil || !strings.Contains(out, "Available Commands:") {
			t.Errorf("%s: %v\n%s\nwant the help", strings.Join(args, " "), err, out)
		}
	}
}

// The binary exits non-zero for a mistyped subcommand, naming it.
func TestMaintenanceUnknownSubcommandExits(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the caddy binary")
	}
	out, err := exec.Command(testcaddy.Binary(t), "upstream-errors", "maintenance", "of", "shop").CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() == 0 || !strings.Contains(string(out), `unknown command "of"`) {
		t.Errorf("maintenance of shop: %v\n%s\nwant a non-zero exit naming the command", err, out)
	}
}

// adminCall is a request the fake admin API received.
type adminCall struct {
	method, path, body string
}

// fakeAdmin is an admin API that answers every request with answer and
// records what it received.
func fakeAdmin(t *testing.T, answer string) (string, func() []adminCall) {
	t.Helper()
	var mu sync.Mutex
	var calls []adminCall
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		calls = append(calls, adminCall{r.Method, r.URL.Path, string(b)})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://"), func() []adminCall {
		mu.Lock()
		defer mu.Unlock()
		return append([]adminCall(nil), calls...)
	}
}

// on and off warn, exiting 0, when the Caddy reports that none of its
// sites follows the window; a Caddy that does not say gets no warning.
func TestMaintenanceFollowedWarning(t *testing.T) {
	state := func(followed string) string {
		return `{"window":"shpo","on":true,"changed":"2030-01-01T00:00:00Z","key":"upstream_errors/maintenance/shpo"` + followed + `}`
	}
	for _, tc := range []struct {
		name, cmd, answer string
		warn              bool
	}{
		{"on, followed by none", "on", state(`,"followed":false`), true},
		{"off, followed by none", "off", state(`,"followed":false`), true},
		{"on, followed", "on", state(`,"followed":true`), false},
		{"on, not said", "on", state(""), false},
		{"on, not JSON", "on", "ok", false},
		{"status, followed by none", "status", state(`,"followed":false`), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, _ := fakeAdmin(t, tc.answer)
			out, errOut, err := execute(t, "upstream-errors", "maintenance", tc.cmd, "shpo", "--address", addr)
			if err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			want := `warning: no site of the Caddy at ` + addr + ` follows window "shpo"; check the name` + "\n"
			if got := strings.Contains(errOut, want); got != tc.warn {
				t.Errorf("stderr %q, want the warning: %v", errOut, tc.warn)
			}
			if strings.Contains(out, "warning") {
				t.Errorf("stdout %q, want the answer alone", out)
			}
		})
	}
}

// What on, off and status send, and what they refuse before sending.
func TestMaintenanceRequests(t *testing.T) {
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name string
		args []string
		want adminCall // zero: nothing sent
		err  string
	}{
		{"on", []string{"on", "shop"}, adminCall{"PUT", "/upstream_errors/maintenance/shop", ""}, ""},
		{"on --for", []string{"on", "shop", "--for", "30m"}, adminCall{"PUT", "/upstream_errors/maintenance/shop", `{"for":"30m"}`}, ""},
		{"on --until", []string{"on", "shop", "--until", until}, adminCall{"PUT", "/upstream_errors/maintenance/shop", `{"until":"` + until + `"}`}, ""},
		{"off", []string{"off", "shop"}, adminCall{"DELETE", "/upstream_errors/maintenance/shop", ""}, ""},
		{"status of one", []string{"status", "shop"}, adminCall{"GET", "/upstream_errors/maintenance/shop", ""}, ""},
		{"status of all", []string{"status"}, adminCall{"GET", "/upstream_errors/maintenance", ""}, ""},
		{"both ends", []string{"on", "shop", "--for", "30m", "--until", until}, adminCall{}, "give --until or --for, not both"},
		{"on without a name", []string{"on"}, adminCall{}, "a window name is required; usage: caddy upstream-errors maintenance on <window> [flags]"},
		{"off without a name", []string{"off"}, adminCall{}, "a window name is required; usage: caddy upstream-errors maintenance off <window> [flags]"},
		{"two names", []string{"off", "shop", "blog"}, adminCall{}, "one window name at most; usage: caddy upstream-errors maintenance off <window> [flags]"},
		{"unsafe name", []string{"status", "../x"}, adminCall{}, "may hold only letters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, calls := fakeAdmin(t, `{}`)
			_, errOut, err := execute(t, append(append([]string{"upstream-errors", "maintenance"}, tc.args...), "--address", addr)...)
			if tc.err == "" && err != nil {
				t.Fatalf("%v\n%s", err, errOut)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("error %v, want %q", err, tc.err)
			}
			got := calls()
			switch {
			case tc.want == adminCall{} && len(got) > 0:
				t.Errorf("sent %+v, want nothing", got)
			case tc.want != adminCall{} && (len(got) != 1 || got[0] != tc.want):
				t.Errorf("sent %+v, want %+v", got, tc.want)
			}
		})
	}
}

// Without --address the command finds the admin address in --config or
// a Caddyfile in the current directory, else takes Caddy's default,
// which CADDY_ADMIN sets; it needs no config.
func TestMaintenanceAdminAddress(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the caddy binary")
	}
	bin := testcaddy.Binary(t)
	withAdmin := func(addr string) string {
		return "{\n\tadmin " + addr + "\n}\n\n:8080 {\n\trespond ok\n}\n"
	}
	const noAdmin = ":8080 {\n\trespond ok\n}\n"
	for _, tc := range []struct {
		name      string
		caddyfile func(addr string) string // in the current directory
		config    func(addr string) string // given with --config
		env       bool                     // CADDY_ADMIN is the fake's address
	}{
		{name: "--config", config: withAdmin},
		{name: "Caddyfile in the current directory", caddyfile: withAdmin},
		{name: "--config over the current directory", caddyfile: func(string) string { return withAdmin("127.0.0.1:1") }, config: withAdmin},
		{name: "no config: the default", env: true},
		{name: "a config without admin: the default", caddyfile: func(string) string { return noAdmin }, env: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr, calls := fakeAdmin(t, `{}`)
			dir := t.TempDir()
			cmd := exec.Command(bin, "upstream-errors", "maintenance", "status", "shop")
			cmd.Dir = dir
			cmd.Env = append(environWithout("CADDY_ADMIN"), "HOME="+dir)
			if tc.env {
				cmd.Env = append(cmd.Env, "CADDY_ADMIN="+addr)
			}
			if tc.caddyfile != nil {
				writeFile(t, filepath.Join(dir, "Caddyfile"), tc.caddyfile(addr))
			}
			if tc.config != nil {
				file := filepath.Join(t.TempDir(), "Caddyfile")
				writeFile(t, file, tc.config(addr))
				cmd.Args = append(cmd.Args, "--config", file)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v\n%s", err, out)
			}
			if got := calls(); len(got) != 1 || got[0].path != "/upstream_errors/maintenance/shop" {
				t.Errorf("the admin API at %s got %+v, want the status request", addr, got)
			}
		})
	}
}

// environWithout is the test's environment without the variable name.
func environWithout(name string) []string {
	return slices.DeleteFunc(os.Environ(), func(v string) bool { return strings.HasPrefix(v, name+"=") })
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
