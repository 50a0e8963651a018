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

func TestErrorAfterHeadersIsLoggedAndReturned(t *testing.T) {
	h, logs := observed(t)
	boom := errors.New("upstream went away")
	rec, err := serve(t, h, func(w http.ResponseWriter, r *http.Request) error {
		r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer).Set(upstreamStatusPlace, 200)
		w.WriteHeader(200)
		w.Write([]byte("partial"))
		return proxyError(502, boom)
	})
	if !errors.Is(err, boom) || rec.Body.String() != "partial" {
		t.Errorf("err %v, body %q", err, rec.Body)
	}
	entries := logs.FilterMessage("upstream error").All()
	if len(entries) != 1 || entries[0].ContextMap()["cause"] != causeHTTPResponseIncomplete || entries[0].ContextMap()["status"] != int64(200) {
		t.Errorf("entries: %v", entries)
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
