package upstreamerrors_test

import (
	"strconv"
	"testing"

	"github.com/dunglas/httpsfv"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// A unix socket whose accept queue is full refuses a connection at once
// (EAGAIN): the upstream is overloaded, which is a 503 with Retry-After,
// not a 504 timeout.
func TestFullUnixSocketIsOverload(t *testing.T) {
	sock := testcaddy.FullUnixBacklog(t)
	c := testcaddy.StartCaddyfile(t, "upstream_errors {\n\tretry_after 17\n}\nreverse_proxy unix/"+sock)

	res, body, id := request(t, c, "GET", "/")
	p := expectProblem(t, c, res, body, id, problem{status: 503, cause: "destination_overloaded"})
	if want := "The upstream server is overloaded and could not accept the connection."; p.Detail != want {
		t.Errorf("detail = %q, want %q", p.Detail, want)
	}
	if secs, err := strconv.Atoi(res.Header.Get("Retry-After")); err != nil || secs != 17 {
		t.Errorf("Retry-After = %q, want the configured 17", res.Header.Get("Retry-After"))
	}
	l, err := httpsfv.UnmarshalList([]string{res.Header.Get("Proxy-Status")})
	if err != nil || len(l) != 1 {
		t.Fatalf("Proxy-Status %q: %v", res.Header.Get("Proxy-Status"), err)
	}
	if e, _ := l[0].(httpsfv.Item).Params.Get("error"); e != httpsfv.Token("connection_refused") {
		t.Errorf("Proxy-Status error = %v, want connection_refused", e)
	}
}
