package upstreamerrors

import (
	"errors"
	"fmt"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func TestHandlerError(t *testing.T) {
	inner := errors.New("upstream failed")
	herr := caddyhttp.HandlerError{Err: inner, StatusCode: 502, Trace: proxyTracePrefix + "statusError (reverseproxy.go:1)"}
	for _, tc := range []struct {
		name  string
		err   error
		found bool
		proxy bool
	}{
		{"as returned", herr, true, true},
		{"wrapped", fmt.Errorf("route: %w", herr), true, true},
		{"another handler's", caddyhttp.HandlerError{Err: inner, StatusCode: 500, Trace: "fileserver.notFound (staticfiles.go:1)"}, true, false},
		{"plain", inner, false, false},
		{"nil", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := handlerError(tc.err)
			if ok != tc.found || ok && got.Err != inner {
				t.Errorf("handlerError = %+v %v, want found=%v around %v", got, ok, tc.found, inner)
			}
			if fromProxy(tc.err) != tc.proxy {
				t.Errorf("fromProxy = %v, want %v", !tc.proxy, tc.proxy)
			}
		})
	}
	// every proxy error the module answers is asked this first
	var err error = herr
	if n := testing.AllocsPerRun(100, func() { _ = fromProxy(err) }); n != 0 {
		t.Errorf("fromProxy allocated %v objects, want 0", n)
	}
}

// TestStackWriterOutsideAProxy: a head written with no reverse_proxy frame
// on the stack is neither the proxy's copy nor a handle_response page, and
// telling so allocates nothing, as every intercepted head asks it.
func TestStackWriterOutsideAProxy(t *testing.T) {
	if got := stackWriter(); got != writerOther {
		t.Errorf("stackWriter() = %v outside any proxy, want writerOther", got)
	}
	if n := testing.AllocsPerRun(100, func() { _ = stackWriter() }); n != 0 {
		t.Errorf("stackWriter allocated %v objects, want 0", n)
	}
}
