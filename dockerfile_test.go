package caddyupstreamerrors_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/modfile"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/examples/legacy"
)

// xcaddyVersion is the xcaddy that runs the Dockerfile's build here; the
// builder image brings its own.
const xcaddyVersion = "v0.4.5"

const caddyModule = "github.com/caddyserver/caddy/v2"

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd  string // upper-cased
	args []string
}

// parseDockerfile reads the instructions of a Dockerfile that uses no
// quoting (exec form, heredocs) and no escape directive.
func parseDockerfile(t *testing.T, name string) []instruction {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out  []instruction
		line string
	)
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			line += cont + " "
			continue
		}
		fields := strings.Fields(line + text)
		line = ""
		out = append(out, instruction{cmd: strings.ToUpper(fields[0]), args: fields[1:]})
	}
	if line != "" {
		t.Fatalf("%s ends in a continuation", name)
	}
	return out
}

// goMod returns this module's path and the Caddy version it requires.
func goMod(t *testing.T) (module, caddyVersion string) {
	t.Helper()
	data, err := os.ReadFile("go.mod")
	if err != nil {
		t.Fatal(err)
	}
	f, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Require {
		if r.Mod.Path == caddyModule {
			return f.Module.Mod.Path, r.Mod.Version
		}
	}
	t.Fatalf("go.mod does not require %s", caddyModule)
	return "", ""
}

// xcaddyBuild is what the Dockerfile's builder stage does.
type xcaddyBuild struct {
	with    []string // --with values
	output  string
	srcDest string // where the source is copied
}

// checkDockerfile checks xcaddy.Dockerfile's stages against go.mod and
// returns its build.
func checkDockerfile(t *testing.T) xcaddyBuild {
	t.Helper()
	module, version := goMod(t)
	tag := strings.TrimPrefix(version, "v")

	var (
		stages [][]instruction
		froms  [][]string
	)
	for _, in := range parseDockerfile(t, "xcaddy.Dockerfile") {
		if in.cmd == "FROM" {
			stages = append(stages, nil)
			froms = append(froms, in.args)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("%s before the first FROM", in.cmd)
		}
		stages[len(stages)-1] = append(stages[len(stages)-1], in)
	}
	if len(stages) != 2 {
		t.Fatalf("want 2 stages, got %d", len(stages))
	}
	if want := []string{"caddy:" + tag + "-builder", "AS", "builder"}; strings.Join(froms[0], " ") != strings.Join(want, " ") {
		t.Errorf("first stage: FROM %s, want FROM %s (go.mod requires Caddy %s)", strings.Join(froms[0], " "), strings.Join(want, " "), version)
	}
	if want := "caddy:" + tag; strings.Join(froms[1], " ") != want {
		t.Errorf("second stage: FROM %s, want FROM %s (go.mod requires Caddy %s)", strings.Join(froms[1], " "), want, version)
	}

	var b xcaddyBuild
	for _, in := range stages[0] {
		switch {
		case in.cmd == "COPY" && len(in.args) == 2 && in.args[0] == ".":
			b.srcDest = in.args[1]
		case in.cmd == "RUN" && len(in.args) > 2 && in.args[0] == "xcaddy" && in.args[1] == "build":
			args := in.args[2:]
			for i := 0; i+1 < len(args); i++ {
				switch args[i] {
				case "--with":
					b.with = append(b.with, args[i+1])
				case "--output":
					b.output = args[i+1]
				}
			}
		}
	}
	if b.srcDest == "" {
		t.Fatal("the builder stage does not COPY the source")
	}
	if len(b.with) != 1 {
		t.Fatalf("want one xcaddy build --with, got %q", b.with)
	}
	spec, repl, _ := strings.Cut(b.with[0], "=")
	mod, _, _ := strings.Cut(spec, "@")
	if mod != module || repl != b.srcDest {
		t.Errorf("--with %s: want %s, replaced with the copied source %s", b.with[0], module, b.srcDest)
	}

	copied := false
	for _, in := range stages[1] {
		if in.cmd == "COPY" && strings.Join(in.args, " ") == "--from=builder "+b.output+" /usr/bin/caddy" {
			copied = true
		}
	}
	if b.output == "" || !copied {
		t.Errorf("the final stage does not COPY --from=builder the built binary (%q) to /usr/bin/caddy", b.output)
	}
	return b
}

func TestDockerfile(t *testing.T) {
	checkDockerfile(t)
}

// TestDockerfileBuild runs the Dockerfile's xcaddy build on this checkout
// and checks the binary has the module and adapts the examples.
func TestDockerfileBuild(t *testing.T) {
	if testing.Short() {
		// seconds with a warm build cache, minutes with a cold one
		t.Skip("builds Caddy with xcaddy")
	}
	b := checkDockerfile(t)
	_, version := goMod(t)
	repo, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command")
	}

	localFirstProxy(t, goCmd)

	dir := t.TempDir()
	bin := filepath.Join(dir, "caddy")
	spec, _, _ := strings.Cut(b.with[0], "=")
	args := []string{
		"run", "github.com/caddyserver/xcaddy/cmd/xcaddy@" + xcaddyVersion,
		"build", version, "--with", spec + "=" + repo, "--output", bin,
	}
	began := time.Now()
	if out, err := run(t, dir, goCmd, args...); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	t.Logf("xcaddy build took %s", time.Since(began).Round(time.Second))

	out, err := run(t, dir, bin, "list-modules")
	if err != nil {
		t.Fatalf("caddy list-modules: %v\n%s", err, out)
	}
	if !strings.Contains("\n"+out+"\n", "\nhttp.handlers.upstream_errors\n") {
		t.Errorf("caddy list-modules does not list http.handlers.upstream_errors:\n%s", out)
	}

	// every example adapts, and the JSON one validates, with the built binary
	files, err := filepath.Glob(filepath.Join(repo, "examples", "*", "Caddyfile"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no example Caddyfiles: %v", err)
	}
	for _, f := range files {
		out, err = run(t, dir, bin, "adapt", "--config", f)
		if err != nil {
			t.Errorf("caddy adapt --config %s: %v\n%s", f, err, out)
			continue
		}
		if !strings.Contains(out, `"handler":"upstream_errors"`) {
			t.Errorf("%s: adapted config lacks the handler:\n%s", f, out)
		}
	}
	jsonConfig := filepath.Join(repo, "examples", "json", "caddy.json")
	if out, err = run(t, dir, bin, "validate", "--config", jsonConfig); err != nil {
		t.Errorf("caddy validate --config %s: %v\n%s", jsonConfig, err, out)
	}

	t.Run("serves", func(t *testing.T) { serveBuilt(t, dir, bin, repo) })
	t.Run("operates", func(t *testing.T) { operateBuilt(t, dir, bin) })
}

// serveBuilt runs the built binary on the auth-gateway example, one
// site-level directive over forward_auth, handle blocks and a page the site
// writes in handle_response, in front of the legacy backend, and checks it
// answers as the in-process Caddy of the tests does.
func serveBuilt(t *testing.T, dir, bin, repo string) {
	backend := httptest.NewServer(legacy.New())
	t.Cleanup(backend.Close)
	up := strings.TrimPrefix(backend.URL, "http://")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	site, err := os.ReadFile(filepath.Join(repo, "examples", "auth-gateway", "Caddyfile"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "auth-gateway.Caddyfile")
	global := "{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n}\n"
	if err := os.WriteFile(cfg, append([]byte(global), site...), 0o600); err != nil { //nolint:gosec // a file in the test's own temporary directory
		t.Fatal(err)
	}
	runBuilt(t, dir, bin, cfg, addr, "SITE_ADDR=http://"+addr, "AUTH="+up, "LEGACY="+up)

	get := func(path string, token bool) (*http.Response, string) {
		req, _ := http.NewRequest("GET", "http://"+addr+path, nil)
		if token {
			req.Header.Set("Authorization", "Bearer "+legacy.DemoToken)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res, string(body)
	}
	// the auth service's decision passes as it made it
	if res, body := get("/ok", false); res.StatusCode != 401 || res.Header.Get("Proxy-Status") != "" || !strings.Contains(body, "Log in first") { //nolint:bodyclose // get closes it
		t.Errorf("GET /ok without a token: %d %v %q, want the auth service's own 401", res.StatusCode, res.Header, body)
	}
	// the backend's 500 page, under a handle block, is replaced
	if res, body := get("/error", true); res.StatusCode != 502 || res.Header.Get("Content-Type") != "application/problem+json" || //nolint:bodyclose // get closes it
		res.Header.Get("Set-Cookie") != "" || !strings.Contains(body, `"cause":"http_response_status"`) {
		t.Errorf("GET /error: %d %v %q, want the module's 502", res.StatusCode, res.Header, body)
	}
	// the page the site writes in handle_response passes untouched
	if res, body := get("/reports/unavailable", true); res.StatusCode != 503 || body != "Reports are being rebuilt; come back in a few minutes." { //nolint:bodyclose // get closes it
		t.Errorf("GET /reports/unavailable: %d %q, want the site's own page", res.StatusCode, body)
	}
}

// runBuilt runs the built binary on the Caddyfile cfg, with env added to
// the environment, until the test ends, and waits until addr accepts
// connections.
func runBuilt(t *testing.T, dir, bin, cfg, addr string, env ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), bin, "run", "--config", cfg, "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), env...), "HOME="+dir,
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the built Caddy never listened on %s:\n%s", addr, logs.String())
		}
	}
}

// localFirstProxy points the go command at the local module cache before
// the configured proxy: the cache is laid out as a module proxy, so the
// build environment xcaddy makes resolves what this checkout already
// downloaded (and verified against go.sum) from disk instead of asking the
// network for each lookup, which took most of the build's time. Anything
// missing still comes from the configured proxy.
func localFirstProxy(t *testing.T, goCmd string) {
	t.Helper()
	out, err := exec.Command(goCmd, "env", "GOMODCACHE", "GOPROXY").Output()
	if err != nil {
		t.Fatalf("go env: %v", err)
	}
	cache, proxy, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if cache == "" || proxy == "off" {
		return
	}
	t.Setenv("GOPROXY", "file://"+filepath.ToSlash(filepath.Join(cache, "cache", "download"))+","+proxy)
}

// run runs a command in dir with Caddy's files kept under dir and the
// examples' placeholders unset, and returns its output.
func run(t *testing.T, dir, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), name, args...)
	cmd.Dir = dir
	env := make([]string, 0, len(os.Environ())+2)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "LEGACY", "SITE_ADDR", "XDG_CONFIG_HOME", "XDG_DATA_HOME":
			continue
		}
		env = append(env, kv)
	}
	cmd.Env = append(env, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "XDG_DATA_HOME="+filepath.Join(dir, "data"))
	out, err := cmd.CombinedOutput()
	return string(out), err
}
