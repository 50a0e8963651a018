package adminapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/adminapi"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/recent"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// get sends a GET with request ID id to path on c.
func get(t *testing.T, c *testcaddy.Caddy, path, id string) int {
	t.Helper()
	req, err := http.NewRequest("GET", c.URL(path), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Request-ID", id)
	res, err := c.Client.Do(req)
	if err != nil {
		// just after a reload the stopping server can reset a connection
		// it accepted on the shared listener; a GET is sent again once
		res, err = c.Client.Do(req)
	}
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// adminRequest sends method to path on c's admin endpoint and returns the
// answer, its body read.
func adminRequest(t *testing.T, c *testcaddy.Caddy, method, path string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+c.Admin+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil && method == http.MethodGet {
		// a reload replaces the admin listener too, and a connection the
		// old one had accepted is reset; a GET is sent again once
		res, err = http.DefaultClient.Do(req)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, body
}

// recent reads the endpoint with query q, returning the status and, for
// a 200, the decoded list and the raw body.
func getRecent(t *testing.T, c *testcaddy.Caddy, method, q string) (int, []recent.Failure, string) {
	t.Helper()
	res, body := adminRequest(t, c, method, adminapi.RecentPath+q)
	if res.StatusCode != http.StatusOK {
		return res.StatusCode, nil, string(body)
	}
	if ct := res.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	var out []recent.Failure
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	return res.StatusCode, out, string(body)
}

func ids(fs []recent.Failure) []string {
	out := make([]string, 0, len(fs))
	for _, f := range fs {
		out = append(out, f.RequestID)
	}
	return out
}

// The endpoint lists the failures answered, newest first, with what the
// log entry says of each (status, cause, upstream, upstream status,
// request ID, error text) and the request's host, method and path
// without its query; a pass-through is not listed; limit and cause
// filter; the buffer keeps the configured number.
func TestRecentFailures(t *testing.T) {
	refused := testcaddy.ClosedPort(t)
	page := testcaddy.RawServer(t, testcaddy.Reply("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown"))
	reset := testcaddy.RawServer(t, testcaddy.Reset)
	ok := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("fine")) }))
	c := testcaddy.StartCaddyfile(t, fmt.Sprintf(`upstream_errors {
	recent 4
}
handle /refused* { reverse_proxy %s }
handle /page* { reverse_proxy %s }
handle /reset* { reverse_proxy %s }
handle /ok* { reverse_proxy %s }`, refused, page, reset, ok), testcaddy.Options{Admin: true})

	run := time.Now().UnixNano()
	type sent struct {
		path, id, upstream     string
		status, upstreamStatus int
		cause                  string
	}
	var failures []sent
	for i, s := range []sent{
		{path: "/refused/a?token=s3cret", upstream: refused, status: 502, cause: "connection_refused"},
		{path: "/page/b?token=s3cret", upstream: page, status: 503, cause: "http_response_status", upstreamStatus: 503},
		{path: "/ok/c?token=s3cret", status: 200},
		{path: "/reset/d?token=s3cret", upstream: reset, status: 502, cause: "connection_terminated"},
		{path: "/refused/e", upstream: refused, status: 502, cause: "connection_refused"},
	} {
		s.id = fmt.Sprintf("recent-%d-%d", run, i)
		before := time.Now()
		if got := get(t, c, s.path, s.id); got != s.status {
			t.Fatalf("%s: status %d, want %d", s.path, got, s.status)
		}
		if s.status == 200 {
			continue
		}
		failures = append(failures, s)
		_, list, _ := getRecent(t, c, "GET", "?limit=1")
		if len(list) != 1 {
			t.Fatalf("after %s: %d entries with limit=1", s.path, len(list))
		}
		f := list[0]
		logged := c.ModuleEntries(s.id)
		if len(logged) != 1 {
			t.Fatalf("%s: %d log entries", s.path, len(logged))
		}
		path, _, _ := strings.Cut(s.path, "?")
		if f.RequestID != s.id || f.Status != s.status || f.Cause != s.cause || f.Upstream != s.upstream ||
			f.UpstreamStatus != s.upstreamStatus || f.Method != "GET" || f.Path != path ||
			f.Host != strings.TrimPrefix(c.URL(""), "http://") {
			t.Errorf("%s: newest entry %+v, want %+v", s.path, f, s)
		}
		if f.Server == "" {
			t.Errorf("%s: no server", s.path)
		}
		if want, _ := logged[0]["error"].(string); f.Error != want {
			t.Errorf("%s: error %q, the log says %q", s.path, f.Error, want)
		}
		if f.Time.Before(before.Add(-time.Second)) || f.Time.After(time.Now().Add(time.Second)) {
			t.Errorf("%s: time %v is not when it was answered (%v)", s.path, f.Time, before)
		}
		if f.Duration <= 0 || f.Duration > time.Since(before).Seconds() {
			t.Errorf("%s: duration %v, want within the request (%v)", s.path, f.Duration, time.Since(before))
		}
	}

	_, all, body := getRecent(t, c, "GET", "")
	if strings.Contains(body, "s3cret") || strings.Contains(body, "token") {
		t.Errorf("a query string is listed: %s", body)
	}
	// four kept of the four failures, newest first
	var want []string
	for _, s := range slices.Backward(failures) {
		want = append(want, s.id)
	}
	if !slices.Equal(ids(all), want) {
		t.Errorf("listed %q, want %q", ids(all), want)
	}
	_, two, _ := getRecent(t, c, "GET", "?limit=2")
	if !slices.Equal(ids(two), want[:2]) {
		t.Errorf("limit=2 listed %q, want %q", ids(two), want[:2])
	}
	_, refusedOnly, _ := getRecent(t, c, "GET", "?cause=connection_refused")
	if !slices.Equal(ids(refusedOnly), []string{failures[3].id, failures[0].id}) {
		t.Errorf("cause=connection_refused listed %q", ids(refusedOnly))
	}

	// one more failure pushes the oldest out
	extra := fmt.Sprintf("recent-%d-extra", run)
	if got := get(t, c, "/reset/f", extra); got != 502 {
		t.Fatalf("status %d", got)
	}
	_, all, _ = getRecent(t, c, "GET", "")
	if want := append([]string{extra}, want[:3]...); !slices.Equal(ids(all), want) {
		t.Errorf("after one more, listed %q, want %q", ids(all), want)
	}

	for _, bad := range []struct{ method, q string }{
		{"GET", "?limit=0"}, {"GET", "?limit=x"}, {"GET", "?cause=Bad-Cause"}, {"POST", ""},
	} {
		if status, _, body := getRecent(t, c, bad.method, bad.q); status < 400 || status > 499 {
			t.Errorf("%s %s: status %d %s, want a 4xx", bad.method, bad.q, status, body)
		}
	}
}

// A value the endpoint cannot use is answered 400 with why, never with a
// list that reads as "no failures": a mistyped cause gets the nearest
// one and the causes listed, a client cause is said to be counted
// elsewhere, and a limit must be a whole number from 1, any larger one
// than the buffer meaning all of it.
func TestRecentQueryValues(t *testing.T) {
	refused := testcaddy.ClosedPort(t)
	c := testcaddy.StartCaddyfile(t, fmt.Sprintf(`upstream_errors {
	recent 3
}
reverse_proxy %s`, refused), testcaddy.Options{Admin: true})
	run := time.Now().UnixNano()
	for i := range 3 {
		if got := get(t, c, "/", fmt.Sprintf("query-%d-%d", run, i)); got != 502 {
			t.Fatalf("status %d", got)
		}
	}
	all := fmt.Sprintf("query-%[1]d-2 query-%[1]d-1 query-%[1]d-0", run)

	for _, tc := range []struct {
		q    string
		ids  string   // for a 200: the IDs listed
		says []string // for a 400: what the error says
	}{
		{q: "?limit=99999999999999999999", ids: all},
		{q: "?limit=10001", ids: all},
		{q: "?limit=4", ids: all},
		{q: "?limit=0002", ids: fmt.Sprintf("query-%[1]d-2 query-%[1]d-1", run)},
		{q: "?cause=connection_refused&limit=1", ids: fmt.Sprintf("query-%d-2", run)},
		// counted and listed, though never answered
		{q: "?cause=http_response_incomplete", ids: ""},
		{q: "?cause=http_request_denied", ids: ""},
		{q: "?limit=0", says: []string{`limit: "0" lists nothing; want 1 or more`}},
		{q: "?limit=-1", says: []string{`limit: "-1" is not a whole number; want 1 or more`}},
		{q: "?limit=1.5", says: []string{`"1.5" is not a whole number`}},
		{q: "?limit=x", says: []string{`"x" is not a whole number`}},
		{q: "?limit=%2B2", says: []string{`"+2" is not a whole number`}},
		{q: "?cause=connection_refuse", says: []string{
			`cause: "connection_refuse" is not a cause; did you mean "connection_refused"? Causes listed: `,
			"connection_timeout", "http_response_status", "maintenance", "http_response_incomplete", "http_request_denied",
		}},
		{q: "?cause=Bad-Cause", says: []string{`cause: "Bad-Cause" is not a cause; causes listed: connection_refused, `}},
		{q: "?cause=client_canceled", says: []string{`cause: "client_canceled" is the client's doing, which is not listed here; caddy_http_upstream_errors_client_total counts it`}},
	} {
		status, list, body := getRecent(t, c, "GET", tc.q)
		if tc.says == nil {
			if status != http.StatusOK || strings.Join(ids(list), " ") != tc.ids {
				t.Errorf("%s: %d, listed %q, want 200 and %q", tc.q, status, ids(list), tc.ids)
			}
			continue
		}
		var answer struct{ Error string }
		if err := json.Unmarshal([]byte(body), &answer); err != nil || status != http.StatusBadRequest {
			t.Errorf("%s: status %d %s, want 400 and an error", tc.q, status, body)
		}
		for _, s := range tc.says {
			if !strings.Contains(answer.Error, s) {
				t.Errorf("%s: %s\ndoes not say %s", tc.q, answer.Error, s)
			}
		}
		if strings.Contains(tc.q, "cause=") && strings.Contains(answer.Error, "client_canceled,") {
			t.Errorf("%s: a client cause is offered: %s", tc.q, answer.Error)
		}
	}
}

// An error text that quotes the request's query, as received or as
// rewritten, lists it as "…": the message of an error directive in
// handle_errors, which sees the request as received, and the error and
// upstream of a proxy dialing an address made of the rewritten and the
// original request; the log entry keeps the text as it was.
func TestRecentErrorWithoutQuery(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, `handle /err* {
	error "denied for {uri}" 500
}
handle /rw* {
	upstream_errors
	rewrite * /rewritten?sig=r3written
	reverse_proxy {http.request.uri}+{http.request.orig_uri}
}
handle_errors {
	upstream_errors
}`, testcaddy.Options{Admin: true})
	run := time.Now().UnixNano()
	for _, tc := range []struct {
		path      string
		status    int
		want      string
		leaks     []string
		logQuotes []string
	}{
		{"/err?token=s3cret", 500, "denied for /err?…", []string{"s3cret"}, []string{"/err?token=s3cret"}},
		{"/rw?token=s3cret", 502, "rewritten?…+/rw?…", []string{"s3cret", "r3written"}, []string{"rewritten?sig=r3written+/rw?token=s3cret"}},
	} {
		id := fmt.Sprintf("query-%d-%s", run, tc.path[1:3])
		if got := get(t, c, tc.path, id); got != tc.status {
			t.Fatalf("%s: status %d, want %d", tc.path, got, tc.status)
		}
		_, list, body := getRecent(t, c, "GET", "?limit=1")
		if len(list) != 1 || list[0].RequestID != id || !strings.Contains(list[0].Error, tc.want) {
			t.Errorf("%s: listed %s, want an error with %q", tc.path, body, tc.want)
		}
		for _, leak := range tc.leaks {
			if strings.Contains(body, leak) {
				t.Errorf("%s: a query is listed: %s", tc.path, body)
			}
		}
		logged := c.ModuleEntries(id)
		if len(logged) != 1 {
			t.Fatalf("%s: log entries %v", tc.path, logged)
		}
		for _, q := range tc.logQuotes {
			if e, _ := logged[0]["error"].(string); !strings.Contains(e, q) {
				t.Errorf("%s: logged error %q, want it as it was, with %q", tc.path, e, q)
			}
		}
	}
}

// Without `recent`, the buffer keeps the last 100 failures.
func TestRecentDefaultSize(t *testing.T) {
	c := testcaddy.StartCaddyfile(t, "upstream_errors\nreverse_proxy "+testcaddy.ClosedPort(t), testcaddy.Options{Admin: true})
	const documented = 100 // docs/reference.md
	run := time.Now().UnixNano()
	var want []string
	for i := range documented + 1 {
		id := fmt.Sprintf("default-%d-%d", run, i)
		if got := get(t, c, "/", id); got != 502 {
			t.Fatalf("status %d", got)
		}
		want = append([]string{id}, want...)
	}
	_, all, _ := getRecent(t, c, "GET", "")
	if !slices.Equal(ids(all), want[:documented]) {
		t.Errorf("kept %d: %q..., want the last %d", len(all), ids(all)[:min(3, len(all))], documented)
	}
}

// A reload to a smaller `recent` keeps the newest failures that fit once
// the old config is gone; one to a larger size keeps every one kept and
// makes room for more.
func TestRecentReloadResizes(t *testing.T) {
	site := func(n int) string {
		return fmt.Sprintf("upstream_errors {\n\trecent %d\n}\nreverse_proxy %s", n, testcaddy.ClosedPort(t))
	}
	c := testcaddy.StartCaddyfile(t, site(5), testcaddy.Options{Admin: true})
	run := time.Now().UnixNano()
	var sent []string // newest first
	fail := func(n int) {
		for range n {
			id := fmt.Sprintf("reload-%d-%d", run, len(sent))
			if got := get(t, c, "/", id); got != 502 {
				t.Fatalf("status %d", got)
			}
			sent = append([]string{id}, sent...)
		}
	}
	expect := func(when string, want []string) {
		t.Helper()
		if _, all, _ := getRecent(t, c, "GET", ""); !slices.Equal(ids(all), want) {
			t.Errorf("%s: listed %q, want %q", when, ids(all), want)
		}
	}
	fail(6)
	expect("recent 5", sent[:5])
	c.Reload(site(3))
	expect("after a reload to recent 3", sent[:3])
	fail(1)
	expect("recent 3, one more failure", sent[:3])
	c.Reload(site(10))
	expect("after a reload to recent 10", sent[:3])
	fail(8)
	expect("recent 10, eight more failures", sent[:10])
}

// Every text field is bounded and safe, as the path and the error are:
// a long host or upstream is cut and marked, a method and a request ID of
// the most bytes Caddy and the handler take are kept whole, and bidi
// controls are dropped.
func TestRecentFieldsBounded(t *testing.T) {
	admin := fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t))
	c := testcaddy.StartJSON(t, fmt.Sprintf(`{
	"admin": {"listen": %q, "config": {"persist": false}},
	"apps": {"http": {"servers": {"bounds": {"listen": ["127.0.0.1:PORT"], "routes": [{"handle": [
		{"handler": "upstream_errors"},
		{"handler": "reverse_proxy", "upstreams": [{"dial": "{http.request.header.X-Up}"}]}
	]}]}}}}
}`, admin))
	c.Admin = admin
	send := func(method, host, id, up string) recent.Failure {
		t.Helper()
		req, err := http.NewRequest(method, c.URL("/"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		req.Header.Set("X-Request-ID", id)
		req.Header.Set("X-Up", up)
		res, err := c.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 502 {
			t.Fatalf("status %d", res.StatusCode)
		}
		_, list, _ := getRecent(t, c, "GET", "?limit=1")
		if len(list) != 1 {
			t.Fatal("nothing listed")
		}
		return list[0]
	}

	long := func(c byte, n int) string { return strings.Repeat(string(c), n) }
	id := fmt.Sprintf("bounds-%d-", time.Now().UnixNano())
	id += long('i', 128-len(id))
	// names longer than DNS allows fail at once, without a lookup
	// Caddy refuses a method longer than 32 bytes
	f := send(long('M', 32), long('h', 300), id, long('u', 300)+".invalid:80")
	for _, tc := range []struct{ field, got, want string }{
		{"host", f.Host, long('h', 256) + "…"},
		{"method", f.Method, long('M', 32)},
		{"request_id", f.RequestID, id},
		{"upstream", f.Upstream, long('u', 256) + "…"},
	} {
		if tc.got != tc.want {
			t.Errorf("%s: %q (%d bytes), want %q", tc.field, tc.got, len(tc.got), tc.want)
		}
	}
	f = send("GET", "shop.example", "bidi-"+id[:64], "ev\u202eil\u200f.invalid:80")
	if f.Upstream != "evil.invalid:80" || !strings.Contains(f.Error, "evil.invalid") {
		t.Errorf("upstream %q, error %q: bidi controls kept", f.Upstream, f.Error)
	}
}
