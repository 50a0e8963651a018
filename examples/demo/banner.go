package main

import (
	"fmt"
	"io"
	"strings"
)

// tries are the requests the banner suggests, each under a comment that
// says what to expect, so the lines can be pasted into a shell as they are.
var tries = []struct{ what, cmd string }{
	{"200 from the backend, passed through", "curl -i BASE/ok"},
	{"404 from the backend, passed through", "curl -i BASE/notfound"},
	{"backend 500 with a stack trace -> 502 problem+json", "curl -i BASE/error"},
	{"backend 503 -> 503, its Retry-After kept", "curl -i BASE/unavailable"},
	{"connection reset -> 502 connection_terminated", "curl -i BASE/reset"},
	{"not HTTP at all -> 502 http_protocol_error", "curl -i BASE/garbage"},
	{"nothing listening -> 502 connection_refused", "curl -i BASE/dead/"},
	{"no answer within 1s -> 504 http_response_timeout", "curl -i BASE/slow/timeout"},
	{"server-sent events stream through as they come", "curl -N BASE/sse"},
	{"a large download streams through", "curl -o /dev/null 'BASE/big?mb=100'"},
	{"your request ID is echoed in the header and the body", "curl -i -H 'X-Request-ID: demo-1' BASE/error"},
	{"fail the backend's health check; within a second the pool has no upstream left -> 503", "curl BASE/admin/down; sleep 1; curl -i BASE/pool/ok"},
	{"and bring it back", "curl BASE/admin/up"},
}

// banner prints where things run and what to try with curl.
func banner(out io.Writer, addr, backend, dead, admin string) {
	base := "http://" + addr
	fmt.Fprintf(out, "\nupstream_errors demo\n\n")
	fmt.Fprintf(out, "  Caddy            %s\n", base)
	fmt.Fprintf(out, "  legacy backend   http://%s (direct, without Caddy)\n", backend)
	fmt.Fprintf(out, "  dead upstream    %s (nothing listens)\n", dead)
	if admin != "off" {
		fmt.Fprintf(out, "  admin endpoint   http://%s/config/\n", admin)
	}
	fmt.Fprintf(out, "\nTry:\n")
	for _, t := range tries {
		fmt.Fprintf(out, "\n  # %s\n  %s\n", t.what, strings.ReplaceAll(t.cmd, "BASE", base))
	}
	fmt.Fprintf(out, "\nA browser gets an HTML page for the same failures: open %s/error\n", base)
	fmt.Fprintf(out, "The handler logs one entry per answered failure below. Stop with Ctrl-C.\n\n")
}
