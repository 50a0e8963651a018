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
	return requestWith(t, c, method, path, nil, hdr...)
}

// requestWith is request with a request body.
func requestWith(t *testing.T, c *testcaddy.Caddy, method, path string, body io.Reader, hdr ...string) (*http.Response, []byte, string) {
	t.Helper()
	req, err := http.NewRequest(method, c.URL(path), body)
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
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, data, id
}

// problem is what a normalized response is expected to be.
type problem struct {
	// status is the response status.
	status int
	// cause is the cause code in the body and the log.
	cause string
	// upstream is the upstream's status when one was replaced, else 0.
	upstream int
	// detail overrides the detail testcaddy.Detail expects.
	detail string
	// instance overrides the expected instance, the request's path.
	instance string
	// noVia is set for an upstream status the proxy never started to
	// copy (an exhausted retry_match), which carries no Via.
	noVia bool
	// invalid is an upstream status HTTP cannot carry, expected in the
	// log only: the response treats it as no answer at all.
	invalid int
}

// expectProblem asserts a normalized response to the request with ID id
// and its one log entry. Every expected value comes from want and the
// request, none from the response.
func expectProblem(t *testing.T, c *testcaddy.Caddy, res *http.Response, body []byte, id string, want problem) testcaddy.Problem {
	t.Helper()
	if res.StatusCode != want.status {
		t.Fatalf("status = %d, want %d; body: %s", res.StatusCode, want.status, body)
	}
	expectProblemFields(t, res, id)
	for _, leak := range []string{"X-Powered-By", "X-Upstream-Secret", "Set-Cookie"} {
		if v := res.Header.Get(leak); v != "" {
			t.Errorf("upstream header %s leaked: %q", leak, v)
		}
	}
	// the proxy's own Via stays on a replaced upstream response; the
	// upstream's Via never reaches the client
	via := res.Header.Values("Via")
	switch {
	case (want.upstream == 0 || want.noVia) && len(via) != 0:
		t.Errorf("Via %q on a failure with no upstream response", via)
	case want.upstream != 0 && !want.noVia && (len(via) != 1 || !strings.HasSuffix(via[0], " Caddy")):
		t.Errorf("Via = %q, want the proxy's own value only", via)
	}
	if s := res.Header.Get("Server"); s != "" && s != "Caddy" {
		t.Errorf("Server header = %q, want Caddy's own or none", s)
	}
	var p testcaddy.Problem
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("body is not the problem object: %v\n%s", err, body)
	}
	detail := want.detail
	if detail == "" {
		detail = testcaddy.Detail(want.cause, want.status, want.upstream)
	}
	instance := want.instance
	if instance == "" {
		instance = res.Request.URL.Path
	}
	exp := testcaddy.Problem{
		Type: "about:blank", Title: http.StatusText(want.status), Status: want.status,
		Detail: detail, Instance: instance, Cause: want.cause, RequestID: id,
	}
	if p != exp {
		t.Errorf("problem = %+v\nwant      %+v", p, exp)
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
	if e["status"] != float64(want.status) || e["class"] != "5xx" || e["cause"] != want.cause {
		t.Errorf("log entry status/class/cause = %v/%v/%v, want %d/5xx/%s", e["status"], e["class"], e["cause"], want.status, want.cause)
	}
	if want.upstream != 0 && e["upstream_status"] != float64(want.upstream) {
		t.Errorf("log upstream_status = %v, want %d", e["upstream_status"], want.upstream)
	}
	if want.invalid != 0 && e["upstream_status"] != float64(want.invalid) {
		t.Errorf("log upstream_status = %v, want the invalid %d", e["upstream_status"], want.invalid)
	}
	if want.upstream == 0 && want.invalid == 0 {
		if _, ok := e["upstream_status"]; ok {
			t.Errorf("log has upstream_status %v for a failure with no upstream response", e["upstream_status"])
		}
		if s, _ := e["error"].(string); s == "" {
			t.Errorf("log entry has no error: %v", e)
		}
	}
	if e["method"] != res.Request.Method || e["uri"] != res.Request.URL.RequestURI() {
		t.Errorf("log method/uri = %v %v", e["method"], e["uri"])
	}
	return p
}

// expectProblemFields asserts the fields every problem+json response has.
func expectProblemFields(t *testing.T, res *http.Response, id string) {
	t.Helper()
	for k, v := range map[string]string{
		"Content-Type":           "application/problem+json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
		"X-Request-Id":           id,
	} {
		if got := res.Header.Get(k); got != v {
			t.Errorf("header %s = %q, want %q", k, got, v)
		}
	}
}
