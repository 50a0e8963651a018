package upstreamerrors_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// The composition matrix: where the directive is placed × which handler
// reaches the upstream × which response feature of Caddy's is in the way
// × how the upstream behaves. It asserts properties, not bytes:
//
//   - the body and fields of an upstream response with an intercepted
//     status never reach the client, however the status was changed;
//   - the site's own bodies and every upstream 2xx (and a 401 decision,
//     which is not intercepted) reach it byte for byte;
//   - a normalized response has exactly one log entry and one count, by
//     the innermost directive's config; anything else has none.

// Markers that only the failing upstream's error response carries.
const (
	secretBody   = "SECRET-STACK-TRACE at com.legacy.Db.connect(Db.java:42) password=hunter2"
	secretCookie = "SECRET-SESSION=abc123"
	sitePage     = "SITE-OWN-PAGE: we are looking into it"
	deniedBody   = "AUTH-401-PAGE please log in"
	appBody      = "APP-BODY behind forward_auth"
)

// okBody is long enough for encode to compress it.
var okBody = "UPSTREAM-200-BODY " + strings.Repeat("all good; ", 200)

// legacyError is an upstream error page full of what must not leak. With
// via, it also carries what an upstream that is itself a Caddy sends.
func legacyError(w http.ResponseWriter, via bool) {
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Set-Cookie", secretCookie)
	h.Set("Server", "Apache/2.2.15 (CentOS)")
	h.Set("X-Powered-By", "PHP/5.3.3")
	h.Set("X-Upstream-Secret", "yes")
	if via {
		h.Set("Via", "1.1 Caddy")
	}
	w.WriteHeader(http.StatusInternalServerError)
	io.WriteString(w, "<html><body><pre>"+secretBody+"</pre></body></html>")
}

// behaviour is how an upstream answers.
type behaviour string

const (
	refused   behaviour = "refused"
	timeout   behaviour = "timeout"
	secret500 behaviour = "secret500"
	ok200     behaviour = "ok200"
	deny401   behaviour = "deny401"
)

var behaviours = []behaviour{refused, timeout, secret500, ok200, deny401}

// behave answers as b does; timeout is served elsewhere. The HTTP
// upstreams' error page has a Via of its own, the FastCGI ones' has none.
func behave(b behaviour, via bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		// the other behaviours need nothing here
		//exhaustive:ignore
		switch b {
		case secret500:
			legacyError(w, via)
		case ok200:
			w.Header().Set("X-App-Header", "ok")
			w.Header().Set("X-User", "alice")
			io.WriteString(w, okBody)
		case deny401:
			w.Header().Set("WWW-Authenticate", `Basic realm="legacy"`)
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, deniedBody)
		}
	}
}

// feature is a response feature of Caddy's in the way of the upstream's
// response, as the lines it adds inside the proxy's block and around it.
type feature struct {
	name   string
	inside string // in the reverse_proxy / php_fastcgi / forward_auth block
	around string // in the handle block, before the handler
}

var features = []feature{
	{name: "none"},
	{name: "replace_status", inside: "@e status 500\nreplace_status @e 503"},
	{name: "copy_response", inside: "@e status 500\nhandle_response @e {\ncopy_response\n}"},
	{name: "copy_response_503", inside: "@e status 500\nhandle_response @e {\ncopy_response 503\n}"},
	{name: "respond", inside: "@e status 500\nhandle_response @e {\nrespond \"" + sitePage + "\" 500\n}"},
	{name: "respond_copy_headers", inside: "@e status 500\nhandle_response @e {\ncopy_response_headers {\nexclude Content-Length\n}\nrespond \"" + sitePage + "\" 500\n}"},
	{name: "encode", around: "encode gzip"},
}

// handlerKinds are the handlers that reach an upstream.
var handlerKinds = []string{"reverse_proxy", "php_fastcgi", "forward_auth"}

// placement is where the directive is written.
type placement struct {
	host  string
	site  string // at the site's top level
	block string // in each handle block
	// typ is the problem type prefix of the config that must answer.
	typ string
}

var placements = []placement{
	{host: "site.test", site: "upstream_errors {\ntype https://site.test/errors/\n}", typ: "https://site.test/errors/"},
	{host: "block.test", block: "upstream_errors {\ntype https://block.test/errors/\n}", typ: "https://block.test/errors/"},
	{
		host:  "both.test",
		site:  "upstream_errors {\ntype https://outer.test/errors/\n}",
		block: "upstream_errors {\ntype https://inner.test/errors/\n}",
		typ:   "https://inner.test/errors/",
	},
}

// composeCase is one cell of the matrix and what it must answer.
type composeCase struct {
	place   placement
	handler string
	feature feature
	up      behaviour
}

func (c composeCase) path() string {
	return fmt.Sprintf("/%s-%s-%s/", c.handler, c.feature.name, c.up)
}

// outcome is what the client must get.
type outcome struct {
	// normalized: a problem body with status and cause, upstream the
	// upstream status in the log (0 for none)
	normalized bool
	status     int
	cause      string
	upstream   int
	// otherwise body, byte for byte, with status
	body string
	// siteHeaders: the site chose to copy the upstream's fields
	siteHeaders bool
}

// want is the expected outcome of c, from the matrix's rules.
func (c composeCase) want() outcome {
	// the other behaviours are decided below
	//exhaustive:ignore
	switch c.up {
	case refused:
		return outcome{normalized: true, status: 502, cause: "connection_refused"}
	case timeout:
		cause := "http_response_timeout"
		if c.handler == "php_fastcgi" {
			cause = "connection_read_timeout"
		}
		return outcome{normalized: true, status: 504, cause: cause}
	case ok200:
		if c.handler == "forward_auth" {
			return outcome{status: 200, body: appBody}
		}
		return outcome{status: 200, body: okBody}
	case deny401:
		return outcome{status: 401, body: deniedBody}
	}
	// the 500 page
	switch c.feature.name {
	case "replace_status", "copy_response_503":
		// the site's status stands, the upstream's page goes
		return outcome{normalized: true, status: 503, cause: "http_response_status", upstream: 500}
	case "respond":
		return outcome{status: 500, body: sitePage}
	case "respond_copy_headers":
		return outcome{status: 500, body: sitePage, siteHeaders: true}
	}
	return outcome{normalized: true, status: 502, cause: "http_response_status", upstream: 500}
}

// composeUpstreams starts one upstream per behaviour for each kind of
// handler: HTTP servers, and FastCGI servers on unix sockets.
type composeUpstreams struct {
	http map[behaviour]string
	fcgi map[behaviour]string
	app  string
	root string
}

func startComposeUpstreams(t *testing.T) composeUpstreams {
	u := composeUpstreams{http: map[behaviour]string{}, fcgi: map[behaviour]string{}}
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	hang := func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}
	dir := t.TempDir()
	for _, b := range behaviours {
		// the other behaviours need nothing here
		//exhaustive:ignore
		switch b {
		case refused:
			u.http[b] = testcaddy.ClosedPort(t)
			u.fcgi[b] = "unix/" + filepath.Join(dir, "missing.sock")
		case timeout:
			u.http[b] = testcaddy.HTTPServer(t, http.HandlerFunc(hang))
			u.fcgi[b] = "unix/" + fastCGIBackend(t, http.HandlerFunc(hang))
		default:
			u.http[b] = testcaddy.HTTPServer(t, behave(b, true))
			u.fcgi[b] = "unix/" + fastCGIBackend(t, behave(b, false))
		}
	}
	u.app = testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-User") != "alice" {
			// forward_auth copies the auth service's decision to the app
			w.WriteHeader(http.StatusTeapot)
			return
		}
		io.WriteString(w, appBody)
	}))
	u.root = phpSite(t)
	return u
}

// block writes the handle block of c.
func (u composeUpstreams) block(c composeCase) string {
	// only the hanging upstream gets a short wait: under the load of every
	// case at once, a healthy upstream may take longer than that
	wait := "10s"
	if c.up == timeout {
		wait = "300ms"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "handle %s* {\n%s\n%s\n", c.path(), c.place.block, c.feature.around)
	switch c.handler {
	case "reverse_proxy":
		fmt.Fprintf(&b, "reverse_proxy %s {\ntransport http {\nresponse_header_timeout %s\n}\n%s\n}\n", u.http[c.up], wait, c.feature.inside)
	case "php_fastcgi":
		fmt.Fprintf(&b, "root * %s\nphp_fastcgi %s {\nread_timeout %s\n%s\n}\n", u.root, u.fcgi[c.up], wait, c.feature.inside)
	case "forward_auth":
		fmt.Fprintf(&b, "forward_auth %s {\nuri /auth\ncopy_headers X-User\ntransport http {\nresponse_header_timeout %s\n}\n%s\n}\nreverse_proxy %s\n", u.http[c.up], wait, c.feature.inside, u.app)
	}
	b.WriteString("}\n")
	return b.String()
}

func TestCompositionMatrix(t *testing.T) {
	u := startComposeUpstreams(t)
	cases := make([]composeCase, 0, len(behaviours)*len(features)*len(handlerKinds)*len(placements))
	sites := map[string]string{}
	for _, p := range placements {
		var site strings.Builder
		site.WriteString(p.site + "\n")
		for _, h := range handlerKinds {
			for _, f := range features {
				for _, b := range behaviours {
					c := composeCase{place: p, handler: h, feature: f, up: b}
					cases = append(cases, c)
					site.WriteString(u.block(c))
				}
			}
		}
		sites[p.host] = site.String()
	}
	c := testcaddy.StartSites(t, sites, testcaddy.Options{Admin: true})
	countedBefore := scrapeSum(t, c, "caddy_http_upstream_errors_total")
	clientBefore := scrapeSum(t, c, "caddy_http_upstream_errors_client_total")

	// many requests at once: the timeouts then cost a few waits, not
	// one per case in turn; not all at once, which on a busy machine (or
	// under the race detector) makes dialing a healthy upstream time out
	replies := make([]composeReply, len(cases))
	var wg sync.WaitGroup
	inFlight := make(chan struct{}, 32)
	for i, cc := range cases {
		inFlight <- struct{}{}
		wg.Go(func() {
			defer func() { <-inFlight }()
			replies[i] = sendComposeCase(c, cc)
		})
	}
	wg.Wait()
	// each entry is written before its response: all are in the log now
	entries := map[string][]testcaddy.Entry{}
	for _, e := range c.Entries(testcaddy.LoggerName) {
		id, _ := e["request_id"].(string)
		entries[id] = append(entries[id], e)
	}
	normalized := 0
	t.Run("cases", func(t *testing.T) {
		for i, cc := range cases {
			t.Run(cc.place.host+cc.path(), func(t *testing.T) {
				if checkComposeCase(t, u, cc, replies[i], entries[replies[i].id]) {
					normalized++
				}
			})
		}
	})
	// one count per normalized response, and none for anything else
	if got := scrapeSum(t, c, "caddy_http_upstream_errors_total") - countedBefore; got != float64(normalized) {
		t.Errorf("caddy_http_upstream_errors_total grew by %v for %d normalized responses", got, normalized)
	}
	if got := scrapeSum(t, c, "caddy_http_upstream_errors_client_total") - clientBefore; got != 0 {
		t.Errorf("caddy_http_upstream_errors_client_total grew by %v; no client misbehaved", got)
	}
}

// composeReply is what the client got for one case.
type composeReply struct {
	res  *http.Response // its body read and closed
	body string
	id   string
	err  error
}

// sendComposeCase sends c's request.
func sendComposeCase(cd *testcaddy.Caddy, c composeCase) composeReply {
	id := fmt.Sprintf("compose-%s%s", c.place.host, strings.ReplaceAll(c.path(), "/", ""))
	req, err := http.NewRequest("GET", cd.URL(c.path()+"page"), nil)
	if err != nil {
		return composeReply{err: err}
	}
	req.Host = c.place.host
	req.Header.Set("X-Request-ID", id)
	req.Header.Set("Accept-Encoding", "gzip")
	res, err := cd.Client.Do(req)
	if err != nil {
		return composeReply{err: err}
	}
	body, err := readBody(res)
	return composeReply{res: res, body: body, id: id, err: err}
}

// checkComposeCase checks c's outcome; it reports whether the response
// was normalized, for the count.
func checkComposeCase(t *testing.T, u composeUpstreams, c composeCase, r composeReply, entries []testcaddy.Entry) bool {
	want := c.want()
	if r.err != nil {
		t.Fatal(r.err)
	}
	res, body, id := r.res, r.body, r.id

	if res.StatusCode != want.status {
		t.Errorf("status %d, want %d; body %.300q", res.StatusCode, want.status, body)
	}
	if !want.siteHeaders {
		// nothing of the upstream's error response, in body or fields
		for k, vs := range res.Header {
			for _, v := range vs {
				if strings.Contains(v, "SECRET") || k == "X-Upstream-Secret" || k == "X-Powered-By" || strings.Contains(v, "Apache") {
					t.Errorf("upstream field leaked: %s: %s", k, v)
				}
			}
		}
	}
	if strings.Contains(body, "SECRET") || strings.Contains(body, "hunter2") {
		t.Errorf("upstream body leaked: %.300q", body)
	}
	if !want.normalized {
		if body != want.body {
			t.Errorf("body %.200q, want %.200q byte for byte", body, want.body)
		}
		if len(entries) != 0 {
			t.Errorf("logged a response that passed: %v", entries)
		}
		if v := res.Header.Values("Proxy-Status"); len(v) != 0 {
			t.Errorf("Proxy-Status %q on a response that passed", v)
		}
		if c.up == deny401 && res.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("the 401's challenge was dropped")
		}
		return false
	}

	if ct := res.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want the problem body", ct)
	}
	var p testcaddy.Problem
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatalf("not a problem body: %v: %.300q", err, body)
	}
	if p.Status != want.status || p.Cause != want.cause || p.Type != c.place.typ+want.cause || p.RequestID != id {
		t.Errorf("problem %+v, want status %d cause %s type %s%s", p, want.status, want.cause, c.place.typ, want.cause)
	}
	if len(entries) != 1 {
		t.Fatalf("%d log entries, want exactly 1: %v", len(entries), entries)
	}
	e := entries[0]
	if e["status"] != float64(want.status) || e["cause"] != want.cause || e["msg"] != "upstream error" {
		t.Errorf("log entry %v, want status %d cause %s", e, want.status, want.cause)
	}
	if got, _ := e["upstream_status"].(float64); int(got) != want.upstream {
		t.Errorf("log upstream_status %v, want %d", e["upstream_status"], want.upstream)
	}
	if c.handler != "php_fastcgi" && e["upstream"] != u.http[c.up] {
		// for forward_auth, the auth service is the upstream that failed
		t.Errorf("log upstream %v, want %s", e["upstream"], u.http[c.up])
	}
	return true
}

// readBody reads res's body, decompressing what encode compressed.
func readBody(res *http.Response) (string, error) {
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return "", fmt.Errorf("reading the body: %w", err)
	}
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return "", fmt.Errorf("encode sent an invalid gzip body: %w", err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return "", fmt.Errorf("encode sent an invalid gzip body: %w", err)
		}
	}
	return string(data), nil
}

// scrapeSum returns the sum of every series of a metric on /metrics.
func scrapeSum(t *testing.T, c *testcaddy.Caddy, metric string) float64 {
	t.Helper()
	var sum float64
	for line := range strings.SplitSeq(metricsText(t, c), "\n") {
		name, rest, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		if base, _, _ := strings.Cut(name, "{"); base != metric {
			continue
		}
		var v float64
		fmt.Sscan(rest, &v)
		sum += v
	}
	return sum
}
