package upstreamerrors

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// observed returns a provisioned handler whose log entries are recorded.
func observed(t *testing.T) (*Handler, *observer.ObservedLogs) {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	h := new(Handler)
	if err := h.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	h.logger = zap.New(core)
	return h, logs
}

func serve(t *testing.T, h *Handler, next caddyhttp.HandlerFunc) (*httptest.ResponseRecorder, error) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := caddyhttp.PrepareRequest(httptest.NewRequest(http.MethodGet, "/x", nil), caddy.NewReplacer(), rec, new(caddyhttp.Server))
	return rec, h.ServeHTTP(rec, req, next)
}

// TestErrorAfterHeadersIsLoggedAndReturned: a failure after the head went
// out cannot be answered, only logged, and its entry still names the
// request's URI and the upstream, as every entry does.
func TestErrorAfterHeadersIsLoggedAndReturned(t *testing.T) {
	h, logs := observed(t)
	boom := errors.New("upstream went away")
	rec, err := serve(t, h, func(w http.ResponseWriter, r *http.Request) error {
		repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
		repl.Set(upstreamStatusPlace, 200)
		repl.Set("http.reverse_proxy.upstream.hostport", "127.0.0.1:9")
		w.WriteHeader(200)
		w.Write([]byte("partial"))
		return proxyError(502, boom)
	})
	if !errors.Is(err, boom) || rec.Body.String() != "partial" {
		t.Errorf("err %v, body %q", err, rec.Body)
	}
	entries := logs.FilterMessage("upstream error").All()
	if len(entries) != 1 || entries[0].ContextMap()["cause"] != causeHTTPResponseIncomplete || entries[0].ContextMap()["status"] != int64(200) {
		t.Fatalf("entries: %v", entries)
	}
	if e := entries[0].ContextMap(); e["uri"] != "/x" || e["upstream"] != "127.0.0.1:9" {
		t.Errorf("entry uri %v, upstream %v; want /x and 127.0.0.1:9", e["uri"], e["upstream"])
	}
}

func TestClientClosedErrorWritesNothing(t *testing.T) {
	h, logs := observed(t)
	rec, err := serve(t, h, func(w http.ResponseWriter, r *http.Request) error {
		return proxyError(499, context.Canceled)
	})
	if err != nil || rec.Body.Len() != 0 {
		t.Errorf("err %v, body %q", err, rec.Body)
	}
	entries := logs.All()
	if len(entries) != 1 || entries[0].Level != zapcore.InfoLevel || entries[0].ContextMap()["cause"] != causeClientCanceled || entries[0].ContextMap()["class"] != "4xx" {
		t.Errorf("entries: %v", entries)
	}
}

// proxyError returns err as reverse_proxy returns it: its trace names
// the reverseproxy package, as TestOriginSignals checks against Caddy.
func proxyError(status int, err error) error {
	return caddyhttp.HandlerError{StatusCode: status, Err: err, ID: "abcdefghi", Trace: "reverseproxy.statusError (reverseproxy.go:1776)"}
}

func TestOtherHandlersErrorsAreUntouched(t *testing.T) {
	h, logs := observed(t)
	forbidden := caddyhttp.Error(403, errors.New("no"))
	_, err := serve(t, h, func(w http.ResponseWriter, r *http.Request) error { return forbidden })
	if !errors.Is(err, forbidden.Err) || logs.Len() != 0 {
		t.Errorf("err %v, %d log entries", err, logs.Len())
	}
}

func TestOtherPanicsPropagate(t *testing.T) {
	h, _ := observed(t)
	defer func() {
		if v := recover(); v != "bug" {
			t.Errorf("recovered %v, want the handler's own panic", v)
		}
	}()
	serve(t, h, func(w http.ResponseWriter, r *http.Request) error { panic("bug") })
}

// TestProxyFailureOfUnknownKind specifies what an error reverse_proxy
// returns means when its text names no known failure: it is an upstream
// failure (upstream_error) when the proxy gave it a gateway status (502,
// 503 or 504), and any other status leaves it to handle_errors. The log
// gets the failure itself, not Caddy's error ID and call site around it.
func TestProxyFailureOfUnknownKind(t *testing.T) {
	h := provisioned(t)
	inner := errors.New("the upstream did something odd")
	for _, tc := range []struct {
		status int
		ours   bool
	}{
		{http.StatusBadGateway, true},
		{http.StatusServiceUnavailable, true},
		{http.StatusGatewayTimeout, true},
		{http.StatusInternalServerError, false},
		{http.StatusNotFound, false},
	} {
		err := caddyhttp.HandlerError{ID: "abc123", Trace: proxyTracePrefix + "statusError (reverseproxy.go:1)", StatusCode: tc.status, Err: inner}
		f, ok := h.proxyFailure(err)
		if ok != tc.ours {
			t.Errorf("HTTP %d: an upstream failure = %v, want %v", tc.status, ok, tc.ours)
			continue
		}
		if !ok {
			continue
		}
		if f.cause != causeUpstreamError || f.errText != inner.Error() {
			t.Errorf("HTTP %d: cause %s, logged error %q; want %s and %q", tc.status, f.cause, f.errText, causeUpstreamError, inner)
		}
	}
}
