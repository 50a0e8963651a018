package upstreamerrors_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

var idSeq atomic.Int64

// request sends method to path with a fresh request ID and returns the
// response, its body and the ID.
func request(t *testing.T, c *testcaddy.Caddy, method, path string, hdr ...string) (*http.Response, []byte, string) {
	t.Helper()
	req, err := http.NewRequest(method, c.URL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("test-%s-%d", strings.ReplaceAll(t.Name(), "/", "-"), idSeq.Add(1))
	req.Header.Set("X-Request-ID", id)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := c.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body, id
}

// expectProblem asserts a normalized response and its one log entry.
func expectProblem(t *testing.T, c *testcaddy.Caddy, res *http.Response, body []byte, id string, status int, cause string, upstreamStatus int) problemBody {
	t.Helper()
	if res.StatusCode != status {
		t.Fatalf("status = %d, want %d; body: %s", res.StatusCode, status, body)
	}
	for k, want := range map[string]string{
		"Content-Type":  "application/problem+json",
		"Cache-Control": "no-store",
		"X-Request-Id":  id,
	} {
		if got := res.Header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	for _, leak := range []string{"X-Powered-By", "Via", "X-Upstream-Secret", "Set-Cookie"} {
		if v := res.Header.Get(leak); v != "" {
			t.Errorf("upstream header %s leaked: %q", leak, v)
		}
	}
	if s := res.Header.Get("Server"); s != "" && s != "Caddy" {
		t.Errorf("Server header = %q, want Caddy's own or none", s)
	}
	var p problemBody
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("body is not the problem object: %v\n%s", err, body)
	}
	want := problemBody{
		Type: "about:blank", Title: http.StatusText(status), Status: status,
		Detail: p.Detail, Instance: p.Instance, Cause: cause, RequestID: id,
	}
	if p != want {
		t.Errorf("problem = %+v\nwant      %+v", p, want)
	}
	if p.Detail == "" || strings.Contains(p.Detail, "127.0.0.1") {
		t.Errorf("detail %q is empty or leaks an address", p.Detail)
	}
	rest := strings.Replace(string(body), id, "", 1)
	for _, leak := range []string{"127.0.0.1", "dial", "tcp", "panic", "Exception", "goroutine", "<html"} {
		if strings.Contains(rest, leak) {
			t.Errorf("body leaks %q: %s", leak, body)
		}
	}

	entries := c.ModuleEntries(id)
	if len(entries) != 1 {
		t.Fatalf("want 1 log entry for %s, got %d: %v", id, len(entries), entries)
	}
	e := entries[0]
	if e["level"] != "error" || e["msg"] != "upstream error" {
		t.Errorf("log level/msg = %v/%v", e["level"], e["msg"])
	}
	if e["status"] != float64(status) || e["class"] != "5xx" || e["cause"] != cause {
		t.Errorf("log entry status/class/cause = %v/%v/%v, want %d/5xx/%s", e["status"], e["class"], e["cause"], status, cause)
	}
	if upstreamStatus != 0 && e["upstream_status"] != float64(upstreamStatus) {
		t.Errorf("log upstream_status = %v, want %d", e["upstream_status"], upstreamStatus)
	}
	if upstreamStatus == 0 {
		if _, ok := e["upstream_status"]; ok {
			t.Errorf("log has upstream_status %v for a failure with no upstream response", e["upstream_status"])
		}
	}
	if e["method"] != res.Request.Method || e["uri"] != res.Request.URL.RequestURI() {
		t.Errorf("log method/uri = %v %v", e["method"], e["uri"])
	}
	if upstreamStatus == 0 {
		if s, _ := e["error"].(string); s == "" {
			t.Errorf("log entry has no error: %v", e)
		}
	}
	return p
}

// expectStock asserts what Caddy answers without the module, proving the
// misbehaving server really produces the failure under test.
func expectStock(t *testing.T, site string, status int) {
	t.Helper()
	t.Run("stock", func(t *testing.T) {
		c := testcaddy.StartCaddyfile(t, site)
		res, body, _ := request(t, c, "GET", "/")
		if res.StatusCode != status {
			t.Errorf("stock Caddy answered %d, want %d", res.StatusCode, status)
		}
		if len(body) != 0 {
			t.Errorf("stock Caddy body = %q", body)
		}
	})
}

// problemBody is the problem+json body.
type problemBody = testcaddy.Problem
