package upstreamerrors

import (
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// viaWriter returns a writer whose response carried siteVia before the
// next handler ran, for an upstream that answered 500 with upstreamVia
// field lines ({http.reverse_proxy.header.Via} joins them with commas,
// as reverse_proxy does).
func viaWriter(t *testing.T, siteVia []string, upstreamVia string) *responseWriter {
	t.Helper()
	rec := httptest.NewRecorder()
	if siteVia != nil {
		rec.Header()["Via"] = siteVia
	}
	repl := upstreamRepl(500)
	if upstreamVia != "" {
		repl.Set(upstreamViaPlace, upstreamVia)
	}
	rw := newResponseWriter(provisioned(t), rec, repl)
	t.Cleanup(rw.release)
	return rw
}

// TestProxyViaSignal specifies the Via signal: reverse_proxy's copy of an
// upstream response appends exactly one Caddy element of its own to the
// response's Via, before the upstream's. A head whose status the site
// changed and which shares no distinctive field with the upstream's is
// still told to be the upstream's by that element alone, and a Via the
// site set itself or copied from the upstream (copy_response_headers)
// never counts, element by element, whether chained Caddy proxies sent
// them as one field line or several.
func TestProxyViaSignal(t *testing.T) {
	for _, tc := range []struct {
		name        string
		siteVia     []string // before the next handler ran
		upstreamVia string   // as the placeholder holds it
		added       []string // appended by the next handler
		want        bool
		// copied marks the upstream's own Via copied as it is, which
		// the field signal rightly finds
		copied bool
	}{
		{name: "the proxy's copy", added: []string{"1.1 Caddy"}, want: true},
		{name: "the proxy's copy over HTTP/2", added: []string{"HTTP/2.0 Caddy"}, want: true},
		{name: "nothing added", want: false},
		{name: "another proxy's element", added: []string{"1.1 varnish"}, want: false},
		{name: "a site page with its own Via", siteVia: []string{"1.1 Caddy"}, want: false},
		{name: "the proxy's copy under the site's Via", siteVia: []string{"1.1 Caddy"}, added: []string{"1.1 Caddy"}, want: true},
		{
			name: "copy_response_headers of chained Caddy proxies, one line", upstreamVia: "1.1 Caddy, 1.1 Caddy",
			added: []string{"1.1 Caddy, 1.1 Caddy"}, want: false, copied: true,
		},
		{
			name: "copy_response_headers of chained Caddy proxies, two lines", upstreamVia: "1.1 Caddy,1.1 Caddy",
			added: []string{"1.1 Caddy", "1.1 Caddy"}, want: false, copied: true,
		},
		{
			name: "the proxy's copy of chained Caddy proxies, one line", upstreamVia: "1.1 Caddy, 1.1 Caddy",
			added: []string{"1.1 Caddy", "1.1 Caddy, 1.1 Caddy"}, want: true,
		},
		{
			name: "the proxy's copy of chained Caddy proxies, two lines", upstreamVia: "1.1 Caddy,1.1 Caddy",
			added: []string{"1.1 Caddy", "1.1 Caddy", "1.1 Caddy"}, want: true,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rw := viaWriter(t, tc.siteVia, tc.upstreamVia)
			rw.Header()["Via"] = append(append([]string(nil), tc.siteVia...), tc.added...)
			if got := rw.proxyViaAdded(); got != tc.want {
				t.Errorf("proxyViaAdded = %v, want %v", got, tc.want)
			}
			// the site replaced the upstream's 500 with 503 and the
			// page shares no distinctive field: only Via can tell
			if tc.copied {
				return
			}
			if got := rw.fromUpstream(http.StatusServiceUnavailable, 500); got != tc.want {
				t.Errorf("fromUpstream(503, upstream 500) = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestUpstreamFieldsSignal specifies the field signal for a head a writer
// held back and replays: a field the upstream sent with the same value
// says the head is the upstream's, unless the site had it before or it is
// one any page may share (Content-Type, Date, ...).
func TestUpstreamFieldsSignal(t *testing.T) {
	for _, tc := range []struct {
		name   string
		before http.Header
		field  string
		value  string
		// upstream is the upstream's value, when not value
		upstream string
		want     bool
	}{
		{name: "a distinctive upstream field", field: "X-Powered-By", value: "PHP/5.3.3", want: true},
		{name: "the same field, another value", field: "X-Powered-By", value: "Caddy", upstream: "PHP/5.3.3", want: false},
		{name: "a field the site set before", before: http.Header{"X-Powered-By": {"PHP/5.3.3"}}, field: "X-Powered-By", value: "PHP/5.3.3", want: false},
		{name: "Content-Type, common to any page", field: "Content-Type", value: "text/html", want: false},
		{name: "Cache-Control, common to any page", field: "Cache-Control", value: "no-cache", want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			maps.Copy(rec.Header(), tc.before)
			repl := upstreamRepl(500)
			up := tc.value
			if tc.upstream != "" {
				up = tc.upstream
			}
			repl.Set("http.reverse_proxy.header."+tc.field, up)
			rw := newResponseWriter(provisioned(t), rec, repl)
			defer rw.release()
			rw.Header()[tc.field] = []string{tc.value}
			if got := rw.carriesUpstreamFields(); got != tc.want {
				t.Errorf("carriesUpstreamFields = %v, want %v", got, tc.want)
			}
			if got := rw.fromUpstream(http.StatusServiceUnavailable, 500); got != tc.want {
				t.Errorf("fromUpstream(503, upstream 500) = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestHiddenUpstreamStatus specifies upstreamOrigin: a status an earlier
// proxy left is hidden while the next handler runs and put back after,
// unless the next handler's own proxy set one, which stands; with none
// left before, none is made up.
func TestHiddenUpstreamStatus(t *testing.T) {
	for _, tc := range []struct {
		name       string
		prior, set any // nil: none
		want       any
	}{
		{name: "nothing proxied during the call", prior: 503, want: 503},
		{name: "a new upstream status", prior: 503, set: 200, want: 200},
		{name: "none before, none set", want: nil},
		{name: "none before, one set", set: 404, want: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			repl := caddy.NewReplacer()
			if tc.prior != nil {
				repl.Set(upstreamStatusPlace, tc.prior)
			}
			var o upstreamOrigin
			o.hide(repl)
			if _, ok := repl.Get(upstreamStatusPlace); ok {
				t.Fatal("the earlier status is visible to the next handler")
			}
			if tc.set != nil {
				repl.Set(upstreamStatusPlace, tc.set)
			}
			o.restore()
			got, _ := repl.Get(upstreamStatusPlace)
			if got != tc.want {
				t.Errorf("after the call the status is %v, want %v", got, tc.want)
			}
		})
	}
}

// unwrapping is a response writer wrapper as Caddy's encode, templates,
// header and intercept handlers make them.
type unwrapping struct {
	caddyhttp.ResponseWriterWrapper
}

// opaque is a wrapper that does not unwrap.
type opaque struct{ http.ResponseWriter }

// TestCoverOuterThroughWrappers specifies how a nested upstream_errors
// finds the outer one: through any number of wrappers that unwrap, as
// encode, templates and header wrap the writer between them, and not
// through one that hides what it wraps.
func TestCoverOuterThroughWrappers(t *testing.T) {
	wrap := func(w http.ResponseWriter) http.ResponseWriter {
		return &unwrapping{caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
	}
	for _, tc := range []struct {
		name string
		wrap func(http.ResponseWriter) http.ResponseWriter
		want bool
	}{
		{"directly", func(w http.ResponseWriter) http.ResponseWriter { return w }, true},
		{"through one wrapper", wrap, true},
		{"through three wrappers", func(w http.ResponseWriter) http.ResponseWriter { return wrap(wrap(wrap(w))) }, true},
		{"through a wrapper that hides it", func(w http.ResponseWriter) http.ResponseWriter { return wrap(opaque{w}) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outer := newResponseWriter(provisioned(t), httptest.NewRecorder(), caddy.NewReplacer())
			defer outer.release()
			coverOuter(tc.wrap(outer))
			if outer.covered != tc.want {
				t.Errorf("covered = %v, want %v", outer.covered, tc.want)
			}
		})
	}
	coverOuter(httptest.NewRecorder()) // no upstream_errors under it: nothing to do
}

// TestCoveredPanicPassesOn specifies that a proxy's abort inside a nested
// upstream_errors is the nested one's to answer: the outer one passes
// the panic on and writes nothing, even for a head it had intercepted.
func TestCoveredPanicPassesOn(t *testing.T) {
	h := provisioned(t)
	rec := httptest.NewRecorder()
	rw := newResponseWriter(h, rec, upstreamRepl(500))
	defer rw.release()
	rw.WriteHeader(500)
	if !rw.intercepted {
		t.Fatal("the upstream's 500 was not intercepted")
	}
	rw.covered = true
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	func() {
		defer func() {
			if v := recover(); v != http.ErrAbortHandler { //nolint:errorlint
				t.Errorf("recovered %v, want the abort passed on", v)
			}
		}()
		_ = h.recovered(rw, r, http.ErrAbortHandler)
	}()
	if rec.Body.Len() != 0 || len(rec.Header()) != 0 {
		t.Errorf("the outer handler wrote %d %q %v", rec.Code, rec.Body, rec.Header())
	}
}
