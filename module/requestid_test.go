package upstreamerrors

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// The module makes a request's UUID without storing it in the request's
// vars, which a dial still running in the background for the request may
// be reading; a UUID something already made is the one it uses.
func TestRequestIDLeavesVarsAlone(t *testing.T) {
	h := &Handler{RequestIDHeader: DefaultRequestIDHeader}
	prepare := func() (*http.Request, *caddy.Replacer) {
		repl := caddy.NewReplacer()
		return caddyhttp.PrepareRequest(httptest.NewRequest("GET", "/", nil), repl, httptest.NewRecorder(), nil), repl
	}

	req, repl := prepare()
	vars := req.Context().Value(caddyhttp.VarsCtxKey).(map[string]any)
	before := len(vars)
	id := h.requestID(req, repl)
	if !uuidPattern.MatchString(id) {
		t.Fatalf("made ID %q is not a UUID", id)
	}
	if len(vars) != before || caddyhttp.GetVar(req.Context(), uuidVar) != nil {
		t.Errorf("making the ID wrote the request's vars: %v", vars)
	}
	if again := h.requestID(req, repl); !uuidPattern.MatchString(again) {
		t.Errorf("second ID %q is not a UUID", again)
	}

	req, repl = prepare()
	made, _ := repl.GetString("http.request.uuid") // a log format or another handler made it
	if got := h.requestID(req, repl); got != made {
		t.Errorf("ID %q, want the request's existing UUID %q", got, made)
	}
}
