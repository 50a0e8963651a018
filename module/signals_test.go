package upstreamerrors_test

import (
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

func TestEveryPlaceholderInDeferredHeaders(t *testing.T) {
	names := []string{"status", "class", "cause", "title", "detail", "type", "instance", "request_id"}
	site := ""
	for _, n := range names {
		site += "header >X-UE-" + n + " {http.upstream_errors." + n + "}\n"
	}
	c := testcaddy.StartCaddyfile(t, site+"upstream_errors\nreverse_proxy "+testcaddy.ClosedPort(t))
	res, body, id := request(t, c, "GET", "/orders/7?x=1")
	expectProblem(t, c, res, body, id, problem{status: 502, cause: "connection_refused"})
	for n, want := range map[string]string{
		"status":     "502",
		"class":      "5xx",
		"cause":      "connection_refused",
		"title":      "Bad Gateway",
		"detail":     testcaddy.Details["connection_refused"],
		"type":       "about:blank",
		"instance":   "/orders/7",
		"request_id": id,
	} {
		t.Run(n, func(t *testing.T) {
			if got := res.Header.Get("X-UE-" + n); got != want {
				t.Errorf("{http.upstream_errors.%s} = %q, want %q", n, got, want)
			}
		})
	}
}

func TestKeepHeadersAnySpelling(t *testing.T) {
	up := testcaddy.HTTPServer(t, legacyPages())
	c := testcaddy.StartCaddyfile(t, `handle_path /lower/* {
	upstream_errors {
		keep_headers retry-after x-powered-by
	}
	reverse_proxy `+up+`
}
handle_path /upper/* {
	upstream_errors {
		keep_headers RETRY-AFTER X-POWERED-BY
	}
	reverse_proxy `+up+`
}`)
	for _, prefix := range []string{"/lower", "/upper"} {
		t.Run(prefix, func(t *testing.T) {
			res, _, _ := request(t, c, "GET", prefix+"/status/503?retry=120")
			if res.StatusCode != 503 || res.Header.Get("Retry-After") != "120" || res.Header.Get("X-Powered-By") != "PHP/5.3.3" {
				t.Errorf("%d, Retry-After %q, X-Powered-By %q; want the upstream's kept", res.StatusCode, res.Header.Get("Retry-After"), res.Header.Get("X-Powered-By"))
			}
			if res.Header.Get("X-Upstream-Secret") != "" {
				t.Error("a field outside keep_headers was kept")
			}
		})
	}
}

func TestExhaustedRetryMatch(t *testing.T) {
	var hits [2]atomic.Int32
	upstream := func(i int) string {
		return testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits[i].Add(1)
			w.Header().Set("X-Powered-By", "PHP/5.3.3")
			w.WriteHeader(503)
		}))
	}
	c := testcaddy.StartCaddyfile(t, `upstream_errors
reverse_proxy `+upstream(0)+` `+upstream(1)+` {
	lb_policy round_robin
	lb_retries 1
	lb_retry_match {
		expression `+"`{rp.status_code} == 503`"+`
	}
}`)
	res, body, id := request(t, c, "GET", "/")
	// both upstreams answered 503, so the retries ran out on a response
	expectProblem(t, c, res, body, id, problem{status: 503, cause: "http_response_status", upstream: 503, noVia: true})
	if hits[0].Load() != 1 || hits[1].Load() != 1 {
		t.Errorf("upstreams hit %d and %d times, want once each", hits[0].Load(), hits[1].Load())
	}
	if res.Header.Get("Retry-After") != "10" {
		t.Errorf("Retry-After = %q", res.Header.Get("Retry-After"))
	}
}
