package adminapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// node is one real Caddy process of a fleet sharing a storage directory.
type node struct {
	t       *testing.T
	bin     string
	dir     string
	Admin   string // host:port of the admin API
	Site    string // base URL of the site
	cmd     *exec.Cmd
	env     []string
	logPath string
	storage string // the shared storage directory
}

// fleet starts n Caddy processes that share storage, each with its own
// admin address and site port, proxying to upstream. The site holds a
// named window "shop" and the extra maintenance options given.
func fleet(t *testing.T, n int, upstream, options string) []*node {
	t.Helper()
	return fleetOf(t, n, upstream, site{maintenance: options})
}

// site is what a test adds to the Caddyfile of a fleet.
type site struct {
	global      string   // global options
	lines       string   // site lines before the directive: named matchers
	maintenance string   // maintenance options besides the window
	env         []string // NAME=value sets a variable, a bare NAME unsets it
}

// fleetOf is fleet with more of the Caddyfile given.
func fleetOf(t *testing.T, n int, upstream string, s site) []*node {
	t.Helper()
	bin := testcaddy.Binary(t)
	storage := t.TempDir()
	nodes := make([]*node, n)
	for i := range nodes {
		dir := t.TempDir()
		nd := &node{
			t: t, bin: bin, dir: dir,
			Admin:   fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t)),
			env:     s.env,
			logPath: filepath.Join(dir, "caddy.log"),
			storage: storage,
		}
		port := testcaddy.FreePort(t)
		nd.Site = fmt.Sprintf("http://127.0.0.1:%d", port)
		cf := fmt.Sprintf(`{
	admin %s
	storage file_system %s
	persist_config off
	auto_https off
	log {
		output file %s
		format json
	}
	%s
}

http://127.0.0.1:%d {
	bind 127.0.0.1
	%s
	upstream_errors {
		maintenance {
			window shop
			%s
		}
	}
	reverse_proxy %s
}
`, nd.Admin, storage, nd.logPath, s.global, port, s.lines, s.maintenance, upstream)
		if err := os.WriteFile(filepath.Join(dir, "Caddyfile"), []byte(cf), 0o600); err != nil {
			t.Fatal(err)
		}
		nd.start()
		t.Cleanup(nd.stop)
		nodes[i] = nd
	}
	return nodes
}

// environ is the test's environment changed as env says.
func environ(env []string) []string {
	vars := os.Environ()
	for _, e := range env {
		name, _, _ := strings.Cut(e, "=")
		vars = slices.DeleteFunc(vars, func(v string) bool { return strings.HasPrefix(v, name+"=") })
		if strings.Contains(e, "=") {
			vars = append(vars, e)
		}
	}
	return vars
}

// start runs the process and waits until its admin API and site answer.
func (nd *node) start() {
	t := nd.t
	t.Helper()
	cmd := exec.Command(nd.bin, "run", "--config", filepath.Join(nd.dir, "Caddyfile"), "--adapter", "caddyfile")
	cmd.Env = append(environ(nd.env),
		"HOME="+nd.dir, "XDG_CONFIG_HOME="+filepath.Join(nd.dir, "config"), "XDG_DATA_HOME="+filepath.Join(nd.dir, "data"))
	out, err := os.OpenFile(filepath.Join(nd.dir, "stderr"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	nd.cmd = cmd
	within(t, 20*time.Second, "caddy at "+nd.Site+" started", func() bool {
		res, err := http.Get(nd.Site + "/")
		if err != nil {
			return false
		}
		res.Body.Close()
		return true
	})
}

// stop kills the process and waits for it.
func (nd *node) stop() {
	if nd.cmd == nil {
		return
	}
	_ = nd.cmd.Process.Kill()
	_ = nd.cmd.Wait()
	nd.cmd = nil
}

// within polls cond until it holds or d has passed.
func within(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(d); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("not %s within %s", what, d)
		}
	}
}

// status requests path from the node's site.
func (nd *node) status(path string, hdr ...string) (int, string) {
	nd.t.Helper()
	res, _ := nd.request("GET", path, hdr...)
	return res.StatusCode, res.Header.Get("Retry-After")
}

// request sends a request to the node's site, with header fields given as
// name, value pairs, and returns the response and its body.
func (nd *node) request(method, path string, hdr ...string) (*http.Response, []byte) {
	nd.t.Helper()
	req, _ := http.NewRequest(method, nd.Site+path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		nd.t.Fatal(err)
	}
	return res, body
}

// admin sends a request to the node's admin API.
func (nd *node) admin(method, path, body string) (int, []byte) {
	nd.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, "http://"+nd.Admin+path, rd)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		nd.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// all asserts every node answers want within d.
func all(t *testing.T, nodes []*node, d time.Duration, want int, what string) {
	t.Helper()
	within(t, d, what, func() bool {
		for _, nd := range nodes {
			if s, _ := nd.status("/"); s != want {
				return false
			}
		}
		return true
	})
}

// windowState is a window as the admin API reports it.
type windowState struct {
	Window  string    `json:"window"`
	On      bool      `json:"on"`
	Until   time.Time `json:"until"`
	Changed time.Time `json:"changed"`
	Key     string    `json:"key"`
}

// countingUpstream counts the requests it gets; it answers /fail with a
// 500 and its stack trace, every other path with 200.
func countingUpstream(t *testing.T) (string, *atomic.Int64) {
	var hits atomic.Int64
	return testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/fail" {
			w.WriteHeader(http.StatusInternalServerError)
			io.WriteString(w, "panic: stack trace")
			return
		}
		io.WriteString(w, "up")
	})), &hits
}

// Three Caddy processes sharing one file_system storage follow a window
// switched on any of them; a process restarted during the window comes
// back in it.
func TestFleetWindow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real Caddy processes")
	}
	up, _ := countingUpstream(t)
	nodes := fleet(t, 3, up, "")
	all(t, nodes, 2*time.Second, 200, "all serving before the window")

	code, body := nodes[0].admin("PUT", "/upstream_errors/maintenance/shop", `{"for": "1h"}`)
	if code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	var st windowState
	if err := json.Unmarshal(body, &st); err != nil || !st.On || st.Key != "upstream_errors/maintenance/shop" {
		t.Errorf("PUT answered %s (%v), want the window on under its key", body, err)
	}
	if left := time.Until(st.Until); left < 59*time.Minute || left > time.Hour+time.Second {
		t.Errorf("until %s is %s away, want an hour", st.Until, left)
	}
	all(t, nodes, 2*time.Second, 503, "all three in maintenance after a PUT on one")
	for i, nd := range nodes {
		if s, ra := nd.status("/"); s != 503 || !between(ra, 3500, 3601) {
			t.Errorf("node %d: %d Retry-After %q, want 503 and about an hour", i, s, ra)
		}
	}

	// a restarted process starts in the stored state
	nodes[1].stop()
	nodes[1].start()
	if s, _ := nodes[1].status("/"); s != 503 {
		t.Errorf("node restarted during the window: %d, want 503 at once", s)
	}

	code, body = nodes[2].admin("DELETE", "/upstream_errors/maintenance/shop", "")
	if code != 200 {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	all(t, nodes, 2*time.Second, 200, "all three serving after a DELETE on another")

	code, body = nodes[1].admin("GET", "/upstream_errors/maintenance", "")
	var list []windowState
	if err := json.Unmarshal(body, &list); code != 200 || err != nil || len(list) != 1 || list[0].Window != "shop" || list[0].On {
		t.Errorf("GET list: %d %s (%v), want shop, off", code, body, err)
	}
}

// Bad input is refused with 400 and a message naming the problem, and
// changes nothing.
func TestFleetBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real Caddy processes")
	}
	up, _ := countingUpstream(t)
	nodes := fleet(t, 1, up, "")
	nd := nodes[0]
	if code, body := nd.admin("PUT", "/upstream_errors/maintenance/shop", `{"until": "`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	within(t, 2*time.Second, "in maintenance", func() bool { s, _ := nd.status("/"); return s == 503 })
	_, before := nd.admin("GET", "/upstream_errors/maintenance", "")

	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	for _, tc := range []struct {
		name, method, path, body, want string
	}{
		{"time in the past", "PUT", "/upstream_errors/maintenance/shop", `{"until": "` + past + `"}`, "is in the past"},
		{"not a time", "PUT", "/upstream_errors/maintenance/shop", `{"until": "tomorrow"}`, `until: \"tomorrow\" is not an RFC 3339 time`},
		{"negative duration", "PUT", "/upstream_errors/maintenance/shop", `{"for": "-5m"}`, "for: -5m must be positive"},
		{"unparsable duration", "PUT", "/upstream_errors/maintenance/shop", `{"for": "soon"}`, `for: \"soon\" is not a duration`},
		{"both", "PUT", "/upstream_errors/maintenance/shop", `{"for": "5m", "until": "2099-01-01T00:00:00Z"}`, `give \"until\" or \"for\", not both`},
		{"invalid JSON", "PUT", "/upstream_errors/maintenance/shop", `{"for": `, "the body is not valid JSON"},
		{"unknown field", "PUT", "/upstream_errors/maintenance/shop", `{"end": "5m"}`, "the body is not valid JSON"},
		{"empty name", "PUT", "/upstream_errors/maintenance/", "", "a window name is required"},
		{"unsafe name", "DELETE", "/upstream_errors/maintenance/shop%2F..%2F..%2Fx", "", "may hold only letters, digits"},
		{"dot name", "DELETE", "/upstream_errors/maintenance/.shop", "", "may hold only letters, digits"},
		{"off with a bad name", "DELETE", "/upstream_errors/maintenance/sh%20op", "", "may hold only letters, digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := nd.admin(tc.method, tc.path, tc.body)
			if code != 400 || !bytes.Contains(body, []byte(tc.want)) {
				t.Errorf("%d %s, want 400 naming %q", code, body, tc.want)
			}
		})
	}
	if _, after := nd.admin("GET", "/upstream_errors/maintenance", ""); !bytes.Equal(before, after) {
		t.Errorf("windows changed by refused requests:\n%s\nwas\n%s", after, before)
	}
	if s, _ := nd.status("/"); s != 503 {
		t.Errorf("after refused requests: %d, want still 503", s)
	}
}

// The caddy upstream-errors maintenance command switches the window
// through a live admin endpoint and exits non-zero with the API's message.
func TestFleetCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real Caddy processes")
	}
	up, _ := countingUpstream(t)
	nodes := fleet(t, 2, up, "")
	bin := testcaddy.Binary(t)
	run := func(args ...string) (string, error) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"upstream-errors", "maintenance"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	addr := "--address=" + nodes[0].Admin

	out, err := run("on", "shop", "--for", "30m", addr)
	if err != nil {
		t.Fatalf("on: %v\n%s", err, out)
	}
	all(t, nodes, 2*time.Second, 503, "both in maintenance after `on`")
	// the end is rounded up to a whole second
	if _, ra := nodes[1].status("/"); !between(ra, 1700, 1801) {
		t.Errorf("Retry-After %q, want about 1800", ra)
	}

	// --until moves the announced end: Retry-After counts down to it
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	out, err = run("on", "shop", "--until", until.Format(time.RFC3339), addr)
	if err != nil {
		t.Fatalf("on --until: %v\n%s", err, out)
	}
	within(t, 2*time.Second, "both counting down to --until", func() bool {
		for _, nd := range nodes {
			if _, ra := nd.status("/"); !between(ra, 3500, 3600) {
				return false
			}
		}
		return true
	})

	out, err = run("on", "shop", "--for", "5m", "--until", until.Format(time.RFC3339), addr)
	if err == nil || !strings.Contains(out, "give --until or --for, not both") {
		t.Errorf("on --for --until: %v\n%s\nwant a non-zero exit naming both flags", err, out)
	}
	for _, verb := range []string{"on", "off"} {
		out, err = run(verb, addr)
		if want := "a window name is required; usage: caddy upstream-errors maintenance " + verb + " <window>"; err == nil || !strings.Contains(out, want) {
			t.Errorf("%s with no window: %v\n%s\nwant a non-zero exit naming the usage", verb, err, out)
		}
	}
	if _, ra := nodes[0].status("/"); !between(ra, 3500, 3600) {
		t.Errorf("Retry-After %q after refused commands, want the --until still", ra)
	}

	// a window no site follows is stored all the same
	if out, err = run("on", "blog", addr); err != nil {
		t.Fatalf("on blog: %v\n%s", err, out)
	}
	out, err = run("status", "shop", "--address", nodes[1].Admin)
	var st windowState
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || !st.On || st.Window != "shop" || !st.Until.Equal(until) {
		t.Errorf("status shop: %v\n%s\nwant the window on until %s", err, out, until)
	}

	out, err = run("on", "shop", "--for", "-1m", addr)
	if err == nil || !strings.Contains(out, "for: -1m must be positive") {
		t.Errorf("on --for -1m: %v\n%s\nwant a non-zero exit with the API's message", err, out)
	}
	out, err = run("on", "../etc", addr)
	if err == nil || !strings.Contains(out, "may hold only letters") {
		t.Errorf("on ../etc: %v\n%s\nwant a non-zero exit naming the name", err, out)
	}

	out, err = run("off", "shop", addr)
	if err != nil {
		t.Fatalf("off: %v\n%s", err, out)
	}
	all(t, nodes, 2*time.Second, 200, "both serving after `off`")

	out, err = run("status", addr)
	var list []windowState
	if err != nil || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 ||
		list[0].Window != "blog" || !list[0].On || list[1].Window != "shop" || list[1].On {
		t.Errorf("status: %v\n%s\nwant blog on and shop off", err, out)
	}

	// no --address: the admin address of the Caddyfile in the current
	// directory
	status := exec.Command(bin, "upstream-errors", "maintenance", "status", "shop")
	status.Dir = nodes[1].dir
	status.Env = append(os.Environ(), "HOME="+t.TempDir())
	outb, err := status.Output()
	if err != nil || json.Unmarshal(outb, &st) != nil || st.On || st.Window != "shop" {
		t.Errorf("status shop next to a Caddyfile: %v\n%s\nwant the window, off", err, outb)
	}

	// no admin listening: non-zero, naming the failure
	out, err = run("status", "--address", fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t)))
	if err == nil || !strings.Contains(out, "connection refused") {
		t.Errorf("status against no admin: %v\n%s\nwant a non-zero exit", err, out)
	}

	help, _ := exec.Command(bin, "help").CombinedOutput()
	if !strings.Contains(string(help), "upstream-errors") {
		t.Errorf("caddy help does not list upstream-errors:\n%s", help)
	}
}

// bypassCase is a request during a window and whether it reaches the
// upstream: answered by it, or by the module when it fails.
type bypassCase struct {
	name, method, path string
	hdr                []string
	reach              bool
}

// checkBypass switches the window on at nd, waits until the request ready
// gets the maintenance 503, then sends each case.
func checkBypass(t *testing.T, nd *node, hits *atomic.Int64, ready []string, cases []bypassCase) {
	t.Helper()
	if code, body := nd.admin("PUT", "/upstream_errors/maintenance/shop", ""); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	within(t, 2*time.Second, "in maintenance", func() bool { s, _ := nd.status("/", ready...); return s == 503 })
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := hits.Load()
			res, body := nd.request(tc.method, tc.path, tc.hdr...)
			reached := hits.Load() - before
			ct := res.Header.Get("Content-Type")
			switch {
			case !tc.reach && (res.StatusCode != 503 || reached != 0):
				t.Errorf("%d, upstream reached %d times; want the maintenance 503, upstream not reached", res.StatusCode, reached)
			case tc.reach && tc.path == "/fail" && (res.StatusCode != 502 || ct != "application/problem+json" || reached != 1 || bytes.Contains(body, []byte("stack trace"))):
				t.Errorf("%d %s, upstream reached %d times: %s\nwant the module's 502 problem for the upstream's 500", res.StatusCode, ct, reached, body)
			case tc.reach && tc.path != "/fail" && (res.StatusCode != 200 || reached != 1):
				t.Errorf("%d, upstream reached %d times; want the upstream's 200", res.StatusCode, reached)
			}
		})
	}
}

// On real processes during a window, bypass matchers on a header, a method
// and a path, and allow ranges, let their requests reach the upstream
// (whose failures the module still answers), and nothing else.
func TestFleetBypass(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real Caddy processes")
	}
	up, hits := countingUpstream(t)

	t.Run("matchers", func(t *testing.T) {
		nd := fleetOf(t, 1, up, site{
			lines: "@team header X-Team-Token s3cret\n\t@preflight method OPTIONS",
			maintenance: `allow 192.0.2.0/24
			bypass @team
			bypass @preflight
			bypass /healthz`,
		})[0]
		checkBypass(t, nd, hits, nil, []bypassCase{
			{"team token", "GET", "/", []string{"X-Team-Token", "s3cret"}, true},
			{"preflight", "OPTIONS", "/orders", []string{"Origin", "https://shop.example", "Access-Control-Request-Method", "DELETE"}, true},
			{"health path", "GET", "/healthz", nil, true},
			{"team token, failing upstream", "GET", "/fail", []string{"X-Team-Token", "s3cret"}, true},
			{"wrong token", "GET", "/", []string{"X-Team-Token", "guess"}, false},
			{"empty token", "GET", "/", []string{"X-Team-Token", ""}, false},
			{"other method", "DELETE", "/orders", nil, false},
			{"below the health path", "GET", "/healthz/x", nil, false},
			{"spoofed X-Forwarded-For", "GET", "/", []string{"X-Forwarded-For", "192.0.2.9"}, false},
			{"nothing", "GET", "/", nil, false},
		})
	})

	// Caddy's client IP, through a trusted proxy, is what allow matches:
	// a client the proxy names outside the range proves the window on
	t.Run("allow", func(t *testing.T) {
		outside := []string{"X-Forwarded-For", "203.0.113.5"}
		nd := fleetOf(t, 1, up, site{
			global:      "servers {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t}",
			maintenance: "allow 127.0.0.1/32",
		})[0]
		checkBypass(t, nd, hits, outside, []bypassCase{
			{"GET", "GET", "/", nil, true},
			{"DELETE", "DELETE", "/orders", nil, true},
			{"OPTIONS", "OPTIONS", "/orders", nil, true},
			{"failing upstream", "GET", "/fail", nil, true},
			{"client outside, through the proxy", "GET", "/", outside, false},
		})
	})
}

// teamRecipe is the team-token bypass docs/maintenance.md gives. The
// token is read from the environment at each match, so it stays out of the
// config; comparing it with the header alone would let an empty header
// through while TEAM_TOKEN is unset or empty.
const teamRecipe = "@team expression `{header.X-Team-Token} != \"\" && {header.X-Team-Token} == {env.TEAM_TOKEN}`"

// The team-token recipe lets the token through on a real process, and
// nothing when TEAM_TOKEN is unset or empty, an empty header included.
func TestFleetBypassTokenRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real Caddy processes")
	}
	doc, err := os.ReadFile(filepath.Join("..", "docs", "maintenance.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(doc, []byte("\t"+teamRecipe+"\n")) {
		t.Fatalf("docs/maintenance.md does not give the recipe tested here:\n%s", teamRecipe)
	}
	up, hits := countingUpstream(t)
	closed := []bypassCase{
		{"a token", "GET", "/", []string{"X-Team-Token", "s3cret"}, false},
		{"an empty token", "GET", "/", []string{"X-Team-Token", ""}, false},
		{"no token", "GET", "/", nil, false},
	}
	for _, tc := range []struct {
		name  string
		env   string
		cases []bypassCase
	}{
		{"TEAM_TOKEN set", "TEAM_TOKEN=s3cret", []bypassCase{
			{"the token", "GET", "/", []string{"X-Team-Token", "s3cret"}, true},
			{"a wrong token", "GET", "/", []string{"X-Team-Token", "guess"}, false},
			{"an empty token", "GET", "/", []string{"X-Team-Token", ""}, false},
			{"no token", "GET", "/", nil, false},
		}},
		{"TEAM_TOKEN unset", "TEAM_TOKEN", closed},
		{"TEAM_TOKEN empty", "TEAM_TOKEN=", closed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nd := fleetOf(t, 1, up, site{
				lines:       teamRecipe,
				maintenance: "bypass @team",
				env:         []string{tc.env},
			})[0]
			checkBypass(t, nd, hits, nil, tc.cases)
		})
	}
}

// The hold on a real process: requests arriving during a window wait and
// all reach the upstream when it ends, none before. (The bound is tested
// in module/, where the held requests can be counted.)
func TestFleetHold(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real Caddy processes")
	}
	up, hits := countingUpstream(t)
	nd := fleet(t, 1, up, "hold 1m")[0]
	if code, body := nd.admin("PUT", "/upstream_errors/maintenance/shop", ""); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	// held: a probe that gets no answer in a moment gives up, freeing
	// its place, and is never passed on
	held := func() bool {
		client := http.Client{Timeout: 300 * time.Millisecond}
		res, err := client.Get(nd.Site + "/probe")
		if err != nil {
			return true
		}
		res.Body.Close()
		return false
	}
	within(t, 5*time.Second, "the window seen", held)
	// probes sent before the window was seen reached the upstream
	before := hits.Load()

	const n = 3
	statuses := make(chan int, n)
	for range n {
		go func() {
			res, err := http.Get(nd.Site + "/held")
			if err != nil {
				statuses <- 0
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		}()
	}
	// while probes are held, so are the requests sent before them
	for range 3 {
		if !held() {
			t.Fatal("a probe was answered during the window")
		}
	}
	select {
	case s := <-statuses:
		t.Fatalf("a held request was answered %d during the window", s)
	default:
	}
	if h := hits.Load() - before; h != 0 {
		t.Fatalf("the upstream got %d requests during the window", h)
	}
	if code, body := nd.admin("DELETE", "/upstream_errors/maintenance/shop", ""); code != 200 {
		t.Fatalf("DELETE: %d %s", code, body)
	}
	for range n {
		select {
		case s := <-statuses:
			if s != 200 {
				t.Errorf("held request: %d, want the upstream's 200 once the window ended", s)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a held request still waits after the window ended")
		}
	}
	if h := hits.Load() - before; h != n {
		t.Errorf("the upstream got %d requests, want the %d held", h, n)
	}
}

// A real process keeps the last state read while storage cannot be read,
// with one WARN.
func TestFleetStorageUnreadable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real Caddy processes")
	}
	up, _ := countingUpstream(t)
	nd := fleet(t, 1, up, "")[0]
	if code, body := nd.admin("PUT", "/upstream_errors/maintenance/shop", ""); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	within(t, 2*time.Second, "in maintenance", func() bool { s, _ := nd.status("/"); return s == 503 })
	_, body := nd.admin("GET", "/upstream_errors/maintenance/shop", "")
	var st windowState
	if err := json.Unmarshal(body, &st); err != nil || !st.On {
		t.Fatalf("GET: %s (%v)", body, err)
	}
	key := filepath.Join(nd.storage, filepath.FromSlash(st.Key))
	if err := os.WriteFile(key+".tmp", []byte("not a window"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(key+".tmp", key); err != nil {
		t.Fatal(err)
	}
	const warn = "maintenance window cannot be read from storage; keeping its last state"
	within(t, 5*time.Second, "warned", func() bool { return nd.logged(warn) == 1 })
	// reads keep failing: still on, one WARN
	for range 3 {
		if s, _ := nd.status("/"); s != 503 {
			t.Errorf("storage unreadable: %d, want the last state, 503", s)
		}
		time.Sleep(time.Second)
	}
	if n := nd.logged(warn); n != 1 {
		t.Errorf("%d WARN entries, want 1", n)
	}
}

// logged counts the entries of the node's log with message msg.
func (nd *node) logged(msg string) int {
	data, err := os.ReadFile(nd.logPath)
	if err != nil {
		return 0
	}
	n := 0
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		var e struct {
			Msg string `json:"msg"`
		}
		if json.Unmarshal(line, &e) == nil && e.Msg == msg {
			n++
		}
	}
	return n
}

// between reports whether s is a number of seconds in [lo, hi].
func between(s string, lo, hi int) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= lo && n <= hi
}
