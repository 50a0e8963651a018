package upstreamerrors_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/dunglas/httpsfv"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// A request the proxy cannot send (header_up builds a header value with
// CR LF from the query) never reaches the upstream, and the answer says the
// proxy failed, not the upstream.
func TestUnsendableRequestIsTheProxysError(t *testing.T) {
	var received atomic.Int64
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		received.Add(1)
	}))
	c := testcaddy.StartCaddyfile(t, `upstream_errors
reverse_proxy `+up+` {
	header_up X-In "{http.request.uri.query.v}"
}`)

	// the same route forwards a harmless value
	res, _, _ := request(t, c, "GET", "/?v=ok")
	if res.StatusCode != 200 || received.Load() != 1 {
		t.Fatalf("harmless request: status %d, upstream saw %d requests", res.StatusCode, received.Load())
	}

	res, body, id := request(t, c, "GET", "/?v=a%0d%0aX-Evil:%201")
	p := expectProblem(t, c, res, body, id, problem{status: 502, cause: "proxy_internal_error"})
	if want := "The proxy could not send the request to the upstream server."; p.Detail != want {
		t.Errorf("detail = %q, want %q", p.Detail, want)
	}
	if n := received.Load(); n != 1 {
		t.Errorf("the upstream received %d requests, want only the harmless one", n)
	}
	l, err := httpsfv.UnmarshalList([]string{res.Header.Get("Proxy-Status")})
	if err != nil || len(l) != 1 {
		t.Fatalf("Proxy-Status %q: %v", res.Header.Get("Proxy-Status"), err)
	}
	if e, _ := l[0].(httpsfv.Item).Params.Get("error"); e != httpsfv.Token("proxy_internal_error") {
		t.Errorf("Proxy-Status error = %v, want proxy_internal_error", e)
	}
}
