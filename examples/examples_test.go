package examples_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/examples/legacy"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// examples runs each example directory's Caddyfile; TestExamples fails on
// a Caddyfile that has no entry here, and on an entry without a Caddyfile.
var examples = map[string]func(t *testing.T){
	"minimal":      testMinimal,
	"pool":         testPool,
	"slow-backend": testSlowBackend,
	"mixed-site":   testMixedSite,
	"demo":         testDemo,
	"legacy-api":   testLegacyAPI,
	"site-errors":  testSiteErrors,
	"auth-gateway": testAuthGateway,
	"maintenance":  testMaintenance,
}

// placeholders are the environment variables the example files read.
// Each test starts with all of them unset, so a file's defaults apply
// unless the test sets one.
var placeholders = []string{
	"SITE_ADDR", "LEGACY", "LEGACY2", "API", "DEAD", "AUTH",
	"DEMO_HOST", "DEMO_PORT", "DEMO_ADMIN", "DOCS",
	"MAINTENANCE", "OPS",
}

func TestExamples(t *testing.T) {
	files, err := filepath.Glob("*/Caddyfile")
	if err != nil {
		t.Fatal(err)
	}
	dirs := make([]string, 0, len(files))
	for _, f := range files {
		dirs = append(dirs, filepath.Dir(f))
	}
	for dir := range examples {
		if !slices.Contains(dirs, dir) {
			t.Errorf("examples lists %s, which has no Caddyfile", dir)
		}
	}
	for _, dir := range dirs {
		test, ok := examples[dir]
		if !ok {
			t.Errorf("%s/Caddyfile has no test; add one to examples", dir)
			continue
		}
		t.Run(dir, test)
	}
}

func testMinimal(t *testing.T) {
	t.Run("up", func(t *testing.T) {
		c := start(t, adapt(t, "minimal", "LEGACY", backend(t)))
		expectOK(t, c, "/ok")
		expectProblem(t, c, "/error", 502, "http_response_status")
	})
	t.Run("down", func(t *testing.T) {
		c := start(t, adapt(t, "minimal", "LEGACY", testcaddy.ClosedPort(t)))
		expectProblem(t, c, "/", 502, "connection_refused")
	})
}

func testPool(t *testing.T) {
	t.Run("one down", func(t *testing.T) {
		c := start(t, adapt(t, "pool", "LEGACY", backend(t), "LEGACY2", testcaddy.ClosedPort(t)))
		// the first health check takes the dead one out; until it does,
		// lb_retries sends a refused request on to the live one
		for range 4 {
			expectOK(t, c, "/ok")
		}
	})
	t.Run("all down", func(t *testing.T) {
		c := start(t, adapt(t, "pool", "LEGACY", testcaddy.ClosedPort(t), "LEGACY2", testcaddy.ClosedPort(t)))
		// a refused dial answers 502 until the first checks are in
		waitStatus(t, c, "/", 503)
		res, _ := expectProblem(t, c, "/", 503, "destination_unavailable")
		if ra := res.Header.Get("Retry-After"); ra != "5" {
			t.Errorf("Retry-After = %q, want the example's 5", ra)
		}
	})
}

func testSlowBackend(t *testing.T) {
	t.Run("up", func(t *testing.T) {
		c := start(t, fastSlowBackend(t, adapt(t, "slow-backend", "LEGACY", backend(t))))
		expectOK(t, c, "/timeout?ms=100")
		expectProblem(t, c, "/timeout?ms=10000", 504, "http_response_timeout")
		// streams outlive the header timeout
		expectOK(t, c, "/sse?n=3&ms=160")
	})
	t.Run("unreachable", func(t *testing.T) {
		c := start(t, fastSlowBackend(t, adapt(t, "slow-backend", "LEGACY", testcaddy.FullBacklog(t))))
		expectProblem(t, c, "/", 504, "connection_timeout")
	})
	t.Run("down", func(t *testing.T) {
		c := start(t, adapt(t, "slow-backend", "LEGACY", testcaddy.ClosedPort(t)))
		expectProblem(t, c, "/", 502, "connection_refused")
	})
}

func testMixedSite(t *testing.T) {
	t.Run("up", func(t *testing.T) {
		up := backend(t)
		c := start(t, adapt(t, "mixed-site", "API", up, "LEGACY", up))
		expectOK(t, c, "/ok")
		expectOK(t, c, "/api/ok")
		res, p := expectProblem(t, c, "/api/error", 502, "http_response_status", "X-Correlation-ID", "corr-7")
		if p.RequestID != "corr-7" || res.Header.Get("X-Correlation-ID") != "corr-7" {
			t.Errorf("API request ID: body %q, header %q; want the client's corr-7", p.RequestID, res.Header.Get("X-Correlation-ID"))
		}
		if p.Instance != "/api/error" {
			t.Errorf("instance = %q, want the path the client asked for", p.Instance)
		}
		res, _ = expectProblem(t, c, "/unavailable", 503, "http_response_status", "Accept", "application/problem+json")
		if ra := res.Header.Get("Retry-After"); ra != "120" {
			t.Errorf("Retry-After = %q, want the backend's own 120", ra)
		}
	})
	t.Run("down", func(t *testing.T) {
		dead := testcaddy.ClosedPort(t)
		c := start(t, adapt(t, "mixed-site", "API", dead, "LEGACY", dead))
		expectProblem(t, c, "/api/orders", 502, "connection_refused", "X-Correlation-ID", "corr-8")
		// the pages answer HTML unless the client asks for another format
		res, body := get(t, c, "/account")
		if res.StatusCode != 502 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET /account: %d %q, want 502 text/html\n%s", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		expectProblem(t, c, "/account", 502, "connection_refused", "Accept", "application/problem+json")
	})
}

func testDemo(t *testing.T) {
	t.Run("up", func(t *testing.T) {
		c := start(t, adapt(t, "demo", "LEGACY", backend(t), "DEAD", testcaddy.ClosedPort(t)))
		expectOK(t, c, "/ok")
		expectOK(t, c, "/pool/ok")
		expectProblem(t, c, "/dead/", 502, "connection_refused")
		expectProblem(t, c, "/slow/timeout?ms=5000", 504, "http_response_timeout")
	})
	t.Run("down", func(t *testing.T) {
		c := start(t, adapt(t, "demo", "LEGACY", testcaddy.ClosedPort(t), "DEAD", testcaddy.ClosedPort(t)))
		expectProblem(t, c, "/", 502, "connection_refused")
	})
}

func testAuthGateway(t *testing.T) {
	authorized := []string{"Authorization", "Bearer " + legacy.DemoToken}
	t.Run("up", func(t *testing.T) {
		up := backend(t)
		c := start(t, adapt(t, "auth-gateway", "AUTH", up, "LEGACY", up))
		// the auth service's decision passes as it made it
		res, body := get(t, c, "/ok")
		if res.StatusCode != 401 || res.Header.Get("WWW-Authenticate") == "" || !strings.Contains(string(body), "Log in first") {
			t.Errorf("GET /ok without a token: %d %v, want the auth service's own 401", res.StatusCode, res.Header)
		}
		expectOK(t, c, "/ok", authorized...)
		expectProblem(t, c, "/error", 502, "http_response_status", authorized...)
		res, body = get(t, c, "/reports/unavailable", authorized...)
		if res.StatusCode != 503 || string(body) != "Reports are being rebuilt; come back in a few minutes." {
			t.Errorf("GET /reports/unavailable: %d %q, want the site's own page", res.StatusCode, body)
		}
	})
	t.Run("auth down", func(t *testing.T) {
		c := start(t, adapt(t, "auth-gateway", "AUTH", testcaddy.ClosedPort(t), "LEGACY", backend(t)))
		expectProblem(t, c, "/ok", 502, "connection_refused", authorized...)
	})
}

func testMaintenance(t *testing.T) {
	t.Run("window", func(t *testing.T) {
		flag := filepath.Join(t.TempDir(), "maintenance")
		c := start(t, adapt(t, "maintenance", "LEGACY", backend(t), "MAINTENANCE", flag))
		expectOK(t, c, "/ok")
		expectOK(t, c, "/api/ok")

		// date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ > $MAINTENANCE
		end := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
		if err := os.WriteFile(flag, []byte(end.Format(time.RFC3339)+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c, "/ok", 503)
		for _, path := range []string{"/orders", "/api/orders"} {
			before := time.Now()
			res, _ := expectProblem(t, c, path, 503, "maintenance")
			lo, hi := int(time.Until(end).Seconds()), int(end.Sub(before).Seconds())+1
			if ra, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || ra < lo || ra > hi {
				t.Errorf("GET %s: Retry-After %q, want the %d..%d seconds left", path, res.Header.Get("Retry-After"), lo, hi)
			}
		}

		// touch $MAINTENANCE: no end, so the example's retry_after, 15m
		if err := os.WriteFile(flag, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		for end := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			res, _ := get(t, c, "/")
			if ra := res.Header.Get("Retry-After"); ra == "900" {
				break
			} else if time.Now().After(end) {
				t.Fatalf("Retry-After still %q, want 900 for an empty file", ra)
			}
		}

		// rm $MAINTENANCE
		if err := os.Remove(flag); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, c, "/ok", 200)
	})
	t.Run("ops network", func(t *testing.T) {
		flag := filepath.Join(t.TempDir(), "maintenance")
		if err := os.WriteFile(flag, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		c := start(t, adapt(t, "maintenance", "LEGACY", backend(t), "MAINTENANCE", flag, "OPS", "127.0.0.1 ::1"))
		expectOK(t, c, "/ok")
		expectOK(t, c, "/api/ok")
	})
}

// TestJSON loads json/caddy.json, pointed at a live and a dead backend.
func TestJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		up   func(*testing.T) string
	}{
		{"up", backend},
		{"down", func(t *testing.T) string { return testcaddy.ClosedPort(t) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := decode(t, readFile(t, "json/caddy.json"))
			dials := setDials(cfg, tc.up(t))
			if dials != 1 {
				t.Fatalf("caddy.json has %d upstreams, want 1", dials)
			}
			c := start(t, encode(t, cfg))
			if tc.name == "up" {
				expectOK(t, c, "/ok")
				expectProblem(t, c, "/reset", 502, "connection_terminated")
			} else {
				expectProblem(t, c, "/", 502, "connection_refused")
			}
		})
	}
}

// TestJSONMatchesMinimal keeps json/caddy.json equal to what
// minimal/Caddyfile adapts to with its defaults.
func TestJSONMatchesMinimal(t *testing.T) {
	adapted := decode(t, adapt(t, "minimal"))
	file := decode(t, readFile(t, "json/caddy.json"))
	for _, cfg := range []map[string]any{adapted, file} {
		listenOn(t, cfg, "127.0.0.1:PORT")
	}
	if !reflect.DeepEqual(adapted, file) {
		t.Errorf("json/caddy.json differs from minimal/Caddyfile adapted:\n%s\nwant\n%s", encode(t, file), encode(t, adapted))
	}
}

// adapt adapts dir/Caddyfile with the environment set by pairs of
// names and values, failing on adapter warnings and on a file that is not
// formatted as caddy fmt would.
func adapt(t *testing.T, dir string, env ...string) []byte {
	t.Helper()
	for _, k := range placeholders {
		t.Setenv(k, "") // restored after the test
		os.Unsetenv(k)
	}
	for i := 0; i+1 < len(env); i += 2 {
		if !slices.Contains(placeholders, env[i]) {
			t.Fatalf("%s is not in placeholders", env[i])
		}
		t.Setenv(env[i], env[i+1])
	}
	src := readFile(t, filepath.Join(dir, "Caddyfile"))
	if !bytes.Equal(caddyfile.Format(src), src) {
		t.Errorf("%s/Caddyfile is not formatted; run caddy fmt --overwrite", dir)
	}
	cfg, err := testcaddy.Adapt(string(src))
	if err != nil {
		t.Fatalf("%s/Caddyfile: %v", dir, err)
	}
	return cfg
}

// start runs cfg on a free loopback port with the admin endpoint off.
func start(t *testing.T, cfg []byte) *testcaddy.Caddy {
	t.Helper()
	m := decode(t, cfg)
	listenOn(t, m, "127.0.0.1:PORT")
	m["admin"] = map[string]any{"disabled": true, "config": map[string]any{"persist": false}}
	return testcaddy.StartJSON(t, string(encode(t, m)))
}

// listenOn points the config's one server at addr, after checking it
// listens on one address, whatever its host and port.
func listenOn(t *testing.T, cfg map[string]any, addr string) {
	t.Helper()
	servers := dig[map[string]any](t, cfg, "apps", "http", "servers")
	if len(servers) != 1 {
		t.Fatalf("want one server, got %d", len(servers))
	}
	for _, srv := range servers {
		srv := srv.(map[string]any)
		if ln, _ := srv["listen"].([]any); len(ln) != 1 {
			t.Fatalf("want one listen address, got %v", srv["listen"])
		}
		srv["listen"] = []any{addr}
	}
}

// setDials points every reverse_proxy upstream in cfg at addr and returns
// how many there were.
func setDials(v any, addr string) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		if v["handler"] == "reverse_proxy" {
			for _, u := range v["upstreams"].([]any) {
				u.(map[string]any)["dial"] = addr
				n++
			}
		}
		for _, e := range v {
			n += setDials(e, addr)
		}
	case []any:
		for _, e := range v {
			n += setDials(e, addr)
		}
	}
	return n
}

// dig returns the value at path in a decoded JSON object.
func dig[T any](t *testing.T, v any, path ...string) T {
	t.Helper()
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("no object at %s", k)
		}
		v = m[k]
	}
	out, ok := v.(T)
	if !ok {
		t.Fatalf("%s is a %T", strings.Join(path, "."), v)
	}
	return out
}

// backend serves a legacy backend for the test's duration.
func backend(t *testing.T) string {
	return testcaddy.HTTPServer(t, legacy.New())
}

// get sends a GET with optional header name and value pairs.
func get(t *testing.T, c *testcaddy.Caddy, path string, hdr ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, c.URL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", path, err)
	}
	return res, body
}

// expectOK asserts the backend's 200 passed through.
func expectOK(t *testing.T, c *testcaddy.Caddy, path string, hdr ...string) {
	t.Helper()
	res, body := get(t, c, path, hdr...)
	if res.StatusCode != http.StatusOK {
		t.Errorf("GET %s: status %d, want 200\n%s", path, res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct == "application/problem+json" {
		t.Errorf("GET %s: a problem for a passed-through response", path)
	}
}

// expectProblem asserts a normalized response of status and cause. The
// request carries a fresh X-Request-ID unless hdr sets another ID field;
// the body must echo that ID and the detail testcaddy documents for cause.
func expectProblem(t *testing.T, c *testcaddy.Caddy, path string, status int, cause string, hdr ...string) (*http.Response, problem) {
	t.Helper()
	id := ""
	for i := 0; i+1 < len(hdr); i += 2 {
		if strings.HasSuffix(strings.ToUpper(hdr[i]), "-ID") {
			id = hdr[i+1]
		}
	}
	if id == "" {
		id = fmt.Sprintf("example-%d", idSeq.Add(1))
		hdr = append(hdr, "X-Request-ID", id)
	}
	res, body := get(t, c, path, hdr...)
	var p problem
	if res.StatusCode != status {
		t.Errorf("GET %s: status %d, want %d\n%s", path, res.StatusCode, status, body)
		return res, p
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("GET %s: Content-Type %q, want application/problem+json", path, ct)
	}
	if v := res.Header.Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("GET %s: X-Content-Type-Options %q, want nosniff", path, v)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("GET %s: body is not the problem object: %v\n%s", path, err, body)
	}
	// the examples' backends answer the status they are expected to keep
	upstream := 0
	if cause == "http_response_status" {
		upstream = status
	}
	want := problem{
		Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: testcaddy.Detail(cause, status, upstream), Instance: strings.SplitN(path, "?", 2)[0],
		Cause: cause, RequestID: id,
	}
	if p != want {
		t.Errorf("GET %s: problem %+v\nwant %+v", path, p, want)
	}
	return res, p
}

var idSeq atomic.Int64

// waitStatus polls path until it answers status, for state that settles
// after the config loads.
func waitStatus(t *testing.T, c *testcaddy.Caddy, path string, status int) {
	t.Helper()
	var last int
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		res, _ := get(t, c, path)
		if last = res.StatusCode; last == status {
			return
		}
	}
	t.Fatalf("GET %s: still %d, want %d", path, last, status)
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func decode(t *testing.T, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return m
}

func encode(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// problem is the problem+json body.
type problem = testcaddy.Problem

// fastSlowBackend scales the slow-backend example's timeouts (3s for the
// response head, 2s to dial) down tenfold, so its test waits tenths of a
// second where a user's client waits seconds. It fails if the example no
// longer has those timeouts, which its test would then no longer cover.
func fastSlowBackend(t *testing.T, cfg []byte) []byte {
	t.Helper()
	out := string(cfg)
	for _, d := range []struct{ from, to string }{
		{`"response_header_timeout":3000000000`, `"response_header_timeout":300000000`},
		{`"dial_timeout":2000000000`, `"dial_timeout":200000000`},
	} {
		if !strings.Contains(out, d.from) {
			t.Fatalf("the slow-backend example no longer has %s", d.from)
		}
		out = strings.ReplaceAll(out, d.from, d.to)
	}
	return []byte(out)
}
