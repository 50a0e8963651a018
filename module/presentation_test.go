package upstreamerrors_test

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/dunglas/httpsfv"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

func validJSON(s string) bool { return json.Valid([]byte(s)) }

func TestContentNegotiation(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+testcaddy.ClosedPort(t))
	for _, tc := range []struct {
		accept, contentType string
		check               func(body string) bool
	}{
		{"", "application/problem+json", validJSON},
		{"*/*", "application/problem+json", validJSON},
		{"application/json", "application/json", validJSON},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "text/html; charset=utf-8", func(b string) bool {
			return strings.HasPrefix(b, "<!DOCTYPE html>") && strings.Contains(b, "<title>502 Bad Gateway</title>") &&
				!strings.Contains(b, "<script") && !strings.Contains(b, "http://") && !strings.Contains(b, "https://")
		}},
		{"text/plain", "text/plain; charset=utf-8", func(b string) bool {
			return strings.HasPrefix(b, "502 Bad Gateway\nThe upstream server refused the connection.\nRequest ID: ")
		}},
		{"image/png", "application/problem+json", validJSON},
	} {
		t.Run(cmp.Or(tc.accept, "no Accept"), func(t *testing.T) {
			res, body, id := request(t, c, "GET", "/", "Accept", tc.accept)
			if res.StatusCode != 502 {
				t.Errorf("Accept %q: status %d", tc.accept, res.StatusCode)
			}
			if got := res.Header.Get("Content-Type"); got != tc.contentType {
				t.Errorf("Accept %q: Content-Type %q, want %q", tc.accept, got, tc.contentType)
			}
			if !strings.Contains(res.Header.Get("Vary"), "Accept") {
				t.Errorf("Accept %q: Vary = %q", tc.accept, res.Header.Get("Vary"))
			}
			if !tc.check(string(body)) {
				t.Errorf("Accept %q: body %s", tc.accept, body)
			}
			if !strings.Contains(string(body), id) {
				t.Errorf("Accept %q: body lacks the request ID", tc.accept)
			}
			if n := len(c.ModuleEntries(id)); n != 1 {
				t.Errorf("Accept %q: %d log entries", tc.accept, n)
			}
		})
	}
}

func TestDefaultFormat(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, "upstream_errors {\n\tformat html\n}\nreverse_proxy "+testcaddy.ClosedPort(t))
	res, _, _ := request(t, c, "GET", "/")
	if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
		t.Errorf("no Accept: %q", ct)
	}
	res, _, _ = request(t, c, "GET", "/", "Accept", "application/json")
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Accept json: %q", ct)
	}
}

func TestCustomTemplatesEscapeEveryValue(t *testing.T) {
	dir := t.TempDir()
	htmlFile := filepath.Join(dir, "error.html")
	os.WriteFile(htmlFile, []byte(`<h1>{{.Status}} {{.Title}}</h1><p>{http.request.header.X-Evil}</p><p>{{.Instance}}</p><style>p{color:red}</style>`), 0o600)

	c := testcaddy.StartCaddyfile(t, `upstream_errors {
	template json inline <<JSON
	{"error": {"code": {{.Status}}, "cause": "{http.upstream_errors.cause}", "message": "{{.Detail}}", "evil": "{http.request.header.X-Evil}", "path": "{{.Instance}}", "host": "{http.request.host}", "id": "{{.RequestID}}"}}
	JSON
	template html file `+htmlFile+`
	template text inline "{{.Status}} {http.request.header.X-Evil} {{.Cause}}"
}
reverse_proxy `+testcaddy.ClosedPort(t))

	evil := `"}, "injected": true, "x": "\</script><script>alert(1)</script>`
	res, body, id := request(t, c, "GET", `/a%22b%5C/c`, "Accept", "application/json", "X-Evil", evil)
	var got struct {
		Error struct {
			Code                                 int
			Cause, Message, Evil, Path, Host, ID string
		}
		Injected *bool
	}
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("custom JSON body invalid: %v\n%s", err, body)
	}
	if got.Injected != nil || got.Error.Evil != evil || got.Error.Code != 502 || got.Error.Cause != "connection_refused" ||
		got.Error.Path != `/a%22b%5C/c` || got.Error.ID != id || !strings.HasPrefix(got.Error.Host, "127.0.0.1") {
		t.Errorf("custom JSON = %+v\n%s", got, body)
	}
	if res.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type %q", res.Header.Get("Content-Type"))
	}

	_, body, _ = request(t, c, "GET", "/", "Accept", "text/html", "X-Evil", evil)
	if strings.Contains(string(body), "<script>") || !strings.Contains(string(body), "&lt;script&gt;") || !strings.Contains(string(body), "p{color:red}") {
		t.Errorf("custom HTML not escaped or CSS mangled: %s", body)
	}

	_, body, _ = request(t, c, "GET", "/", "Accept", "text/plain", "X-Evil", "a\tb")
	if string(body) != "502 a\tb connection_refused" {
		t.Errorf("custom text = %q", body)
	}
}

func TestExtraMembers(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, `upstream_errors {
	member status_page https://status.example.com
	member host {http.request.host}
}
reverse_proxy `+testcaddy.ClosedPort(t))
	_, body, _ := request(t, c, "GET", "/")
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if got["status_page"] != "https://status.example.com" || got["host"] != "127.0.0.1" || got["status"] != float64(502) {
		t.Errorf("members: %s", body)
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

func TestRequestIDCorrelation(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, "upstream_errors {\n\trequest_id_header X-Correlation-ID\n}\nreverse_proxy "+testcaddy.ClosedPort(t))

	// a client ID in the configured header is echoed everywhere
	res, body, _ := request(t, c, "GET", "/", "X-Correlation-ID", "corr-42")
	if res.Header.Get("X-Correlation-Id") != "corr-42" || !strings.Contains(string(body), `"request_id":"corr-42"`) || len(c.ModuleEntries("corr-42")) != 1 {
		t.Errorf("client ID not echoed: %v %s", res.Header, body)
	}

	// without one (or with an unsafe one) a UUID is generated
	for _, hdr := range [][]string{nil, {"X-Correlation-ID", `bad"id<`}} {
		t.Run(fmt.Sprint(hdr), func(t *testing.T) {
			req, _ := http.NewRequest("GET", c.URL("/"), nil)
			for i := 0; i+1 < len(hdr); i += 2 {
				req.Header.Set(hdr[i], hdr[i+1])
			}
			res, err := c.Client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			res.Body.Close()
			id := res.Header.Get("X-Correlation-Id")
			if !uuidRE.MatchString(id) {
				t.Fatalf("generated ID %q is not a UUID", id)
			}
			if !strings.Contains(string(body), `"request_id":"`+id+`"`) {
				t.Errorf("body lacks generated ID %s: %s", id, body)
			}
			if n := len(c.ModuleEntries(id)); n != 1 {
				t.Errorf("log has %d entries with generated ID %s", n, id)
			}
		})
	}
}

func TestProxyStatus(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	c := testcaddy.StartCaddyfile(t, `handle_path /named/* {
	upstream_errors {
		proxy_status "edge 1"
	}
	reverse_proxy `+testcaddy.ClosedPort(t)+`
}
handle_path /off/* {
	upstream_errors {
		proxy_status off
	}
	reverse_proxy `+testcaddy.ClosedPort(t)+`
}
handle_path /up/* {
	upstream_errors
	reverse_proxy `+up+`
}
handle {
	upstream_errors
	reverse_proxy `+testcaddy.FullBacklog(t)+` {
		transport http {
			dial_timeout 200ms
		}
	}
}`)
	for path, want := range map[string]string{
		"/":              "caddy; error=connection_timeout",
		"/named/":        `"edge 1"; error=connection_refused`,
		"/off/":          "",
		"/up/status/500": "caddy; received-status=500",
	} {
		t.Run(path, func(t *testing.T) {
			res, _, _ := request(t, c, "GET", path)
			// compared as structured fields: spacing is not significant
			if got := res.Header.Get("Proxy-Status"); canonicalSF(t, got) != canonicalSF(t, want) {
				t.Errorf("%s: Proxy-Status %q, want %q", path, got, want)
			}
		})
	}
}

func TestPlaceholdersReachLogsAndHeaders(t *testing.T) {
	accessLog := filepath.Join(t.TempDir(), "access.log")
	c := testcaddy.StartCaddyfile(t, `log {
	output file `+accessLog+`
	format json
}
log_append upstream_cause {http.upstream_errors.cause}
log_append upstream_class {http.upstream_errors.class}
header >X-Upstream-Status {http.upstream_errors.status}
upstream_errors
reverse_proxy `+testcaddy.ClosedPort(t))
	res, _, id := request(t, c, "GET", "/p")
	if got := res.Header.Get("X-Upstream-Status"); got != "502" {
		t.Errorf("deferred header got %q", got)
	}
	data, err := os.ReadFile(accessLog)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for line := range strings.SplitSeq(strings.TrimSpace(string(data)), "\n") {
		var e map[string]any
		if json.Unmarshal([]byte(line), &e) != nil || !strings.Contains(line, id) {
			continue
		}
		found = true
		if e["upstream_cause"] != "connection_refused" || e["upstream_class"] != "5xx" || e["status"] != float64(502) {
			t.Errorf("access log entry: %s", line)
		}
	}
	if !found {
		t.Errorf("no access log entry for %s in:\n%s", id, data)
	}
}

func TestPerRouteConfiguration(t *testing.T) {
	dead := testcaddy.ClosedPort(t)
	c := testcaddy.StartCaddyfile(t, `handle /api/* {
	upstream_errors {
		format json
		status connection_refused 503
	}
	reverse_proxy `+dead+`
}
handle {
	upstream_errors {
		format html
	}
	reverse_proxy `+dead+`
}`)
	res, body, _ := request(t, c, "GET", "/api/x")
	if res.StatusCode != 503 || res.Header.Get("Content-Type") != "application/json" || !json.Valid(body) {
		t.Errorf("api route: %d %q %s", res.StatusCode, res.Header.Get("Content-Type"), body)
	}
	res, body, _ = request(t, c, "GET", "/page")
	if res.StatusCode != 502 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(string(body), "502") {
		t.Errorf("site route: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
}

func TestMetricsOnAdminEndpoint(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+testcaddy.ClosedPort(t), testcaddy.Options{Admin: true})
	const series = `caddy_http_upstream_errors_total{cause="connection_refused",class="5xx",server="srv0",status="502"}`
	before := scrape(t, c, series)
	for range 3 {
		request(t, c, "GET", "/")
	}
	if after := scrape(t, c, series); after != before+3 {
		t.Errorf("%s went from %v to %v, want +3", series, before, after)
	}
}

// metricsText returns the admin /metrics page, which must list the
// module's counter.
func metricsText(t *testing.T, c *testcaddy.Caddy) string {
	t.Helper()
	res, err := http.Get("http://" + c.Admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if !strings.Contains(string(data), "# TYPE caddy_http_upstream_errors_total counter") {
		t.Fatalf("metric not registered on /metrics:\n%.2000s", data)
	}
	return string(data)
}

// scrape returns a series' value from the admin /metrics endpoint.
func scrape(t *testing.T, c *testcaddy.Caddy, series string) float64 {
	t.Helper()
	for line := range strings.SplitSeq(metricsText(t, c), "\n") {
		if v, ok := strings.CutPrefix(line, series+" "); ok {
			var f float64
			fmt.Sscan(v, &f)
			return f
		}
	}
	return 0
}

// canonicalSF returns an RFC 8941 list in its canonical serialization.
func canonicalSF(t *testing.T, v string) string {
	t.Helper()
	if v == "" {
		return ""
	}
	l, err := httpsfv.UnmarshalList([]string{v})
	if err != nil {
		t.Fatalf("%q is not a structured-field list: %v", v, err)
	}
	s, err := httpsfv.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
