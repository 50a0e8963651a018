package upstreamerrors_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/adminapi"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/recent"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

const byUpstreamName = "caddy_http_upstream_errors_by_upstream_total"

// upSeries names one series of the by-upstream counter.
type upSeries struct {
	upstream, status, cause string
}

// scrapeByUpstream reads the by-upstream series of server.
func scrapeByUpstream(t *testing.T, admin, server string) map[upSeries]float64 {
	t.Helper()
	return byUpstreamOf(scrapeFamilies(t, admin)[byUpstreamName], server)
}

func byUpstreamOf(mf *dto.MetricFamily, server string) map[upSeries]float64 {
	out := make(map[upSeries]float64)
	for _, m := range mf.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["server"] == server {
			out[upSeries{labels["upstream"], labels["status"], labels["cause"]}] = m.GetCounter().GetValue()
		}
	}
	return out
}

// route is a path and the reverse_proxy options of its route.
type route struct{ path, proxy string }

// perUpstreamConfig is a JSON config of one server named for this run (the
// counters are process-wide) with upstream_errors counting by upstream
// up to max (0: the default), then a route per path, in order, to
// reverse_proxy with the given options.
func perUpstreamConfig(t *testing.T, max int, routes ...route) (cfg, server, admin string) {
	server = fmt.Sprintf("per-upstream-%d", time.Now().UnixNano())
	admin = fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t))
	rs := make([]string, 0, len(routes))
	for _, r := range routes {
		rs = append(rs, fmt.Sprintf(`{"match": [{"path": [%q]}], "handle": [{"handler": "reverse_proxy", %s}]}`, r.path, r.proxy))
	}
	metrics := `{"per_upstream": true}`
	if max > 0 {
		metrics = fmt.Sprintf(`{"per_upstream": true, "max_upstreams": %d}`, max)
	}
	cfg = fmt.Sprintf(`{
	"admin": {"listen": %q, "config": {"persist": false}},
	"apps": {"http": {"metrics": {}, "servers": {%q: {"listen": ["127.0.0.1:PORT"], "routes": [
		{"handle": [
			{"handler": "upstream_errors", "metrics": %s},
			{"handler": "subroute", "routes": [%s]}
		]}
	]}}}}
}`, admin, server, metrics, strings.Join(rs, ",\n"))
	return cfg, server, admin
}

func upstreams(dials ...string) string {
	ups := make([]string, 0, len(dials))
	for _, d := range dials {
		ups = append(ups, fmt.Sprintf(`{"dial": %q}`, d))
	}
	return `"upstreams": [` + strings.Join(ups, ", ") + `]`
}

// seeded is the series a static upstream has from the start: one per
// cause an upstream can fail with, with its default status.
func seeded(upstream string, into map[upSeries]float64) map[upSeries]float64 {
	if into == nil {
		into = make(map[upSeries]float64)
	}
	for cause, statuses := range defaultStatuses {
		if cause == "destination_unavailable" {
			continue // no upstream is tried
		}
		for _, status := range statuses {
			into[upSeries{upstream, fmt.Sprint(status), cause}] = 0
		}
	}
	return into
}

// With per_upstream, each failure is counted under the dial address of
// the upstream that failed (refused, reset, an error page), under an
// empty upstream when none was available, and past the maximum under
// "other"; the series of the plain counter stay the same, and a
// pass-through counts nothing.
func TestPerUpstreamSeries(t *testing.T) {
	upstreamerrors.ForgetUpstreams()
	refused := testcaddy.ClosedPort(t)
	page := testcaddy.RawServer(t, testcaddy.Reply("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\n\r\noops!"))
	reset := testcaddy.RawServer(t, testcaddy.Reset)
	once := testcaddy.ClosedPort(t)
	ok := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("fine")) }))
	cfg, server, admin := perUpstreamConfig(t, 2,
		route{"/refused", upstreams(refused)},
		route{"/page", upstreams(page)},
		route{"/reset", upstreams(reset)},
		route{"/once", upstreams(once) + `, "health_checks": {"passive": {"fail_duration": "1m", "max_fails": 1}}`},
		route{"/ok", upstreams(ok)},
	)
	c := testcaddy.StartJSON(t, cfg)

	// before any failure: the series of a failure with no upstream, and
	// those of the first two static upstreams, which fill the bound
	want := map[upSeries]float64{{"", "503", "destination_unavailable"}: 0}
	seeded(refused, want)
	seeded(page, want)
	expectUpSeries(t, "at provisioning", scrapeByUpstream(t, admin, server), want)

	for _, step := range []struct {
		path   string
		status int
		series upSeries
	}{
		{"/refused", 502, upSeries{refused, "502", "connection_refused"}},
		{"/page", 502, upSeries{page, "502", "http_response_status"}},
		// two upstreams are named: the rest are "other"
		{"/reset", 502, upSeries{"other", "502", "connection_terminated"}},
		{"/once", 502, upSeries{"other", "502", "connection_refused"}},
		// the only upstream is down now: none is tried
		{"/once", 503, upSeries{"", "503", "destination_unavailable"}},
		{"/refused", 502, upSeries{refused, "502", "connection_refused"}},
		{"/ok", 200, upSeries{}},
	} {
		res, _, _ := request(t, c, "GET", step.path)
		if res.StatusCode != step.status {
			t.Fatalf("%s: status %d, want %d", step.path, res.StatusCode, step.status)
		}
		if step.series != (upSeries{}) {
			want[step.series]++
		}
	}
	fams := scrapeFamilies(t, admin)
	got := byUpstreamOf(fams[byUpstreamName], server)
	expectUpSeries(t, "after the failures", got, want)

	// the plain counter is unchanged by the extra one: with per_upstream
	// on the server's only handler, each of its series is the sum over
	// upstreams
	sums := map[string]float64{}
	for s, v := range got {
		sums[s.status+"/"+s.cause] += v
	}
	for _, m := range fams[metricName].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["server"] != server {
			continue
		}
		if v, k := m.GetCounter().GetValue(), labels["status"]+"/"+labels["cause"]; v != sums[k] {
			t.Errorf("%s %s = %v, by upstream %v", metricName, k, v, sums[k])
		}
	}
}

// However many upstreams a process sees, at most max get their own
// series: five static upstreams taken at random, max 3, name the first
// three of the config when it loads and count the other failures as
// "other".
func TestPerUpstreamBound(t *testing.T) {
	upstreamerrors.ForgetUpstreams()
	dials := make([]string, 0, 5)
	for range 5 {
		dials = append(dials, testcaddy.ClosedPort(t))
	}
	cfg, server, admin := perUpstreamConfig(t, 3,
		route{"/*", upstreams(dials...) + `, "load_balancing": {"selection_policy": {"policy": "random"}}`},
	)
	c := testcaddy.StartJSON(t, cfg)
	const n = 40
	for range n {
		if res, _, _ := request(t, c, "GET", "/"); res.StatusCode != 502 {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	got := scrapeByUpstream(t, admin, server)
	named, total := map[string]bool{}, 0.0
	for s, v := range got {
		total += v
		if s.upstream != "other" && s.upstream != "" {
			named[s.upstream] = true
		}
	}
	if want := dials[:3]; len(named) != 3 || !named[want[0]] || !named[want[1]] || !named[want[2]] {
		t.Errorf("upstreams named %v, want %v: %v", slices.Sorted(maps.Keys(named)), want, got)
	}
	if got[upSeries{"other", "502", "connection_refused"}] == 0 {
		t.Errorf("no failure counted as other: %v", got)
	}
	if total != n {
		t.Errorf("%v failures counted, want %d: %v", total, n, got)
	}
}

// Without max_upstreams, a process names 100 upstreams: the 100 first to
// fail, dynamic ones here, get their own series and the 101st counts as
// "other".
func TestPerUpstreamDefaultBound(t *testing.T) {
	upstreamerrors.ForgetUpstreams()
	cfg, server, admin := perUpstreamConfig(t, 0,
		route{"/*", `"upstreams": [{"dial": "127.0.0.1:{http.request.header.X-Port}"}]`},
	)
	c := testcaddy.StartJSON(t, cfg)
	want := map[upSeries]float64{{"", "503", "destination_unavailable"}: 0}
	const documented = 100 // docs/reference.md
	for i := range documented + 1 {
		dial := testcaddy.ClosedPort(t)
		_, port, _ := strings.Cut(dial, ":")
		if res, _, _ := request(t, c, "GET", "/", "X-Port", port); res.StatusCode != 502 {
			t.Fatalf("%s: status %d", dial, res.StatusCode)
		}
		if i == documented {
			dial = "other"
		}
		want[upSeries{dial, "502", "connection_refused"}] = 1
	}
	expectUpSeries(t, "after 101 upstreams failed", scrapeByUpstream(t, admin, server), want)
}

// A static upstream's series exist at 0 from the start, under the name
// its failures get, whether its dial address is host:port, localhost:port
// or a unix socket: its first failure takes one of them from 0 to 1 and
// adds none. An address with a placeholder has no series before it fails.
func TestPerUpstreamStaticSeries(t *testing.T) {
	upstreamerrors.ForgetUpstreams()
	ip := testcaddy.ClosedPort(t)
	_, port, _ := strings.Cut(testcaddy.ClosedPort(t), ":")
	local := "localhost:" + port
	sock := testcaddy.UnboundUnixSocket(t)
	dynamic := testcaddy.ClosedPort(t)
	_, dynPort, _ := strings.Cut(dynamic, ":")
	cfg, server, admin := perUpstreamConfig(t, 0,
		route{"/ip", upstreams(ip)},
		route{"/local", upstreams(local)},
		route{"/unix", upstreams("unix/" + sock)},
		route{"/placeholder", `"upstreams": [{"dial": "127.0.0.1:{http.request.header.X-Port}"}]`},
	)
	c := testcaddy.StartJSON(t, cfg)
	want := map[upSeries]float64{{"", "503", "destination_unavailable"}: 0}
	for _, up := range []string{ip, local, sock} {
		seeded(up, want)
	}
	got := scrapeByUpstream(t, admin, server)
	expectUpSeries(t, "at provisioning", got, want)

	for _, step := range []struct{ path, upstream string }{
		{"/ip", ip}, {"/local", local}, {"/unix", sock}, {"/placeholder", dynamic},
	} {
		res, _, id := request(t, c, "GET", step.path, "X-Port", dynPort)
		if res.StatusCode != 502 {
			t.Fatalf("%s: status %d", step.path, res.StatusCode)
		}
		logged := c.ModuleEntries(id)
		if len(logged) != 1 || logged[0]["upstream"] != step.upstream {
			t.Fatalf("%s: log entries %v, want one naming %s", step.path, logged, step.upstream)
		}
		cause, _ := logged[0]["cause"].(string)
		counted := upSeries{step.upstream, "502", cause}
		if _, ok := want[counted]; !ok && step.path != "/placeholder" {
			t.Errorf("%s: failure counted in %+v, which did not exist at 0", step.path, counted)
		}
		want[counted]++
		expectUpSeries(t, "after "+step.path, scrapeByUpstream(t, admin, server), want)
	}
}

// A request that forward_auth let through and whose upstream is down
// names no upstream: reverse_proxy had none to pick, and the upstream
// placeholder still holds forward_auth's. The first failure is the dead
// upstream's, refused; the second finds it unhealthy and is answered 503
// destination_unavailable with no upstream, in the metric, the recent
// failures and the log entry alike, whether upstream_errors covers the
// proxy or answers its error in handle_errors.
func TestPerUpstreamNoneAvailableAfterForwardAuth(t *testing.T) {
	auth := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
	for _, where := range []string{"site", "handle_errors"} {
		t.Run(where, func(t *testing.T) {
			upstreamerrors.ForgetUpstreams()
			dead := testcaddy.ClosedPort(t)
			directive := "upstream_errors {\n\tmetrics per_upstream\n}"
			site := fmt.Sprintf(`%s
forward_auth %s {
	uri /auth
}
reverse_proxy %s {
	fail_duration 1m
	max_fails 1
}`, directive, auth, dead)
			if where == "handle_errors" {
				site = strings.Replace(site, directive, "", 1) + "\nhandle_errors {\n" + directive + "\n}"
			}
			c := testcaddy.StartCaddyfile(t, site, testcaddy.Options{Admin: true})
			// srv0's series are shared with other tests of the process:
			// what these requests add is counted
			before := scrapeByUpstream(t, c.Admin, "srv0")

			res, _, refusedID := request(t, c, "GET", "/orders")
			if res.StatusCode != 502 {
				t.Fatalf("first request: status %d, want 502", res.StatusCode)
			}
			res, _, noneID := request(t, c, "GET", "/orders")
			if res.StatusCode != 503 {
				t.Fatalf("second request: status %d, want 503", res.StatusCode)
			}

			added := map[upSeries]float64{}
			for s, v := range scrapeByUpstream(t, c.Admin, "srv0") {
				if s.upstream == auth && s.cause == "destination_unavailable" {
					t.Errorf("forward_auth's upstream named for no upstream available: %+v = %v", s, v)
				}
				if d := v - before[s]; d != 0 {
					added[s] = d
				}
			}
			want := map[upSeries]float64{{dead, "502", "connection_refused"}: 1, {"", "503", "destination_unavailable"}: 1}
			if !maps.Equal(added, want) {
				t.Errorf("counted %v, want %v", added, want)
			}

			listed := map[string]recent.Failure{}
			for _, f := range recentFailures(t, c.Admin) {
				listed[f.RequestID] = f
			}
			for id, want := range map[string]struct{ cause, upstream string }{
				refusedID: {"connection_refused", dead},
				noneID:    {"destination_unavailable", ""},
			} {
				if f, ok := listed[id]; !ok || f.Cause != want.cause || f.Upstream != want.upstream {
					t.Errorf("recent failure %s: %+v (listed %v), want cause %s, upstream %q", id, f, ok, want.cause, want.upstream)
				}
				logged := c.ModuleEntries(id)
				if len(logged) != 1 || logged[0]["cause"] != want.cause {
					t.Fatalf("log entries of %s: %v", id, logged)
				}
				if up, ok := logged[0]["upstream"]; want.upstream == "" && ok || want.upstream != "" && up != want.upstream {
					t.Errorf("log entry of %s names upstream %v, want %q", want.cause, up, want.upstream)
				}
			}
		})
	}
}

// recentFailures reads the admin API's list of recent failures.
func recentFailures(t *testing.T, admin string) []recent.Failure {
	t.Helper()
	res, err := http.Get("http://" + admin + adminapi.RecentPath)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out []recent.Failure
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// expectUpSeries asserts exactly the series of want, with their values.
func expectUpSeries(t *testing.T, when string, got, want map[upSeries]float64) {
	t.Helper()
	for s, v := range want {
		if g, ok := got[s]; !ok || g != v {
			t.Errorf("%s: %+v = %v (exported %v), want %v", when, s, g, ok, v)
		}
	}
	for s, v := range got {
		if _, ok := want[s]; !ok {
			t.Errorf("%s: unexpected series %+v = %v", when, s, v)
		}
	}
}

// The upstreams named when the config loads are the static ones of the
// proxies the handler covers: after it in its route and in the later
// routes of its list, nested subroutes and handle_response routes
// included; not those of a route of its group that cannot run after its
// own, of dynamic upstreams (whose static list is a fallback), of dial
// addresses with placeholders, or of an error route's proxy, which the
// handler there never calls.
func TestPerUpstreamCoveredUpstreams(t *testing.T) {
	upstreamerrors.ForgetUpstreams()
	server := fmt.Sprintf("covered-%d", time.Now().UnixNano())
	admin := fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t))
	up := func(name string) string { return name + ".invalid:8080" }
	proxy := func(name string) string {
		return fmt.Sprintf(`{"handler": "reverse_proxy", "upstreams": [{"dial": %q}]}`, up(name))
	}
	ue := `{"handler": "upstream_errors", "metrics": {"per_upstream": true}}`
	cfg := fmt.Sprintf(`{
	"admin": {"listen": %q, "config": {"persist": false}},
	"apps": {"http": {"metrics": {}, "servers": {%q: {"listen": ["127.0.0.1:PORT"],
		"routes": [{"handle": [{"handler": "subroute", "routes": [
			{"group": "g", "handle": [%s, %s]},
			{"group": "g", "handle": [%s]},
			{"match": [{"path": ["/x/*"]}], "handle": [{"handler": "subroute", "routes": [
				{"handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": %q}],
					"handle_response": [{"match": {"status_code": [5]}, "routes": [{"handle": [%s]}]}]}]}
			]}]},
			{"handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": %q}],
				"dynamic_upstreams": {"source": "a", "name": "dynamic.invalid", "port": "8080"}}]},
			{"handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": "{http.request.header.X-Up}:8080"}]}]}
		]}]}],
		"errors": {"routes": [{"handle": [{"handler": "subroute", "routes": [{"handle": [%s, %s]}]}]}]}
	}}}}
}`, admin, server, ue, proxy("own"), proxy("same-group"), up("nested"), proxy("response"), up("fallback"), ue, proxy("error-route"))
	testcaddy.StartJSON(t, cfg)
	named := map[string]bool{}
	for s := range scrapeByUpstream(t, admin, server) {
		named[s.upstream] = true
	}
	want := map[string]bool{"": true, up("own"): true, up("nested"): true, up("response"): true}
	if !maps.Equal(named, want) {
		t.Errorf("series for upstreams %q, want %q", slices.Sorted(maps.Keys(named)), slices.Sorted(maps.Keys(want)))
	}
}

// BenchmarkLoadStaticUpstreams loads, and stops, a config of 100 routes
// each proxying to its own static upstream, without per_upstream and
// with it: the series each upstream gets at load are what per_upstream
// adds, made the first time a server has them ("new") and looked up again
// on a reload ("reload").
//
//	go test -run '^$' -bench LoadStaticUpstreams -benchtime 20x ./module/
func BenchmarkLoadStaticUpstreams(b *testing.B) {
	const n = 100
	config := func(server string, perUpstream bool) []byte {
		rs := make([]string, 0, n)
		for i := range n {
			rs = append(rs, fmt.Sprintf(`{"match": [{"path": ["/%d/*"]}], "handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": "10.0.%d.%d:8080"}]}]}`, i, i/256, i%256))
		}
		metrics := ""
		if perUpstream {
			metrics = `, "metrics": {"per_upstream": true}`
		}
		return fmt.Appendf(nil, `{"admin": {"disabled": true, "config": {"persist": false}},
		"logging": {"logs": {"default": {"writer": {"output": "discard"}}}}, "apps": {"http": {"metrics": {}, "servers": {%q: {"listen": ["127.0.0.1:%d"], "routes": [
			{"handle": [{"handler": "upstream_errors"%s}, {"handler": "subroute", "routes": [%s]}]}
		]}}}}}`, server, testcaddy.FreePort(b), metrics, strings.Join(rs, ",\n"))
	}
	for _, bc := range []struct {
		name        string
		perUpstream bool
		newServer   bool
	}{
		{"per_upstream=off", false, true},
		{"per_upstream=on/new", true, true},
		{"per_upstream=on/reload", true, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			server := fmt.Sprintf("load-%d", time.Now().UnixNano())
			for i := 0; b.Loop(); i++ {
				upstreamerrors.ForgetUpstreams()
				if bc.newServer {
					server = fmt.Sprintf("load-%d-%d", time.Now().UnixNano(), i)
				}
				if err := testcaddy.LoadError(config(server, bc.perUpstream)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// Only handlers with per_upstream count by upstream: a failure answered
// by a handler without it, on the same server as one with it, is in the
// plain counter only, under no upstream's name and not as "other".
func TestPerUpstreamOnlyWhereEnabled(t *testing.T) {
	upstreamerrors.ForgetUpstreams()
	on, off := testcaddy.ClosedPort(t), testcaddy.ClosedPort(t)
	server := fmt.Sprintf("per-upstream-some-%d", time.Now().UnixNano())
	admin := fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t))
	c := testcaddy.StartJSON(t, fmt.Sprintf(`{
	"admin": {"listen": %q, "config": {"persist": false}},
	"apps": {"http": {"metrics": {}, "servers": {%q: {"listen": ["127.0.0.1:PORT"], "routes": [
		{"match": [{"path": ["/on"]}], "handle": [
			{"handler": "upstream_errors", "metrics": {"per_upstream": true}},
			{"handler": "reverse_proxy", %s}
		]},
		{"match": [{"path": ["/off"]}], "handle": [
			{"handler": "upstream_errors"},
			{"handler": "reverse_proxy", %s}
		]}
	]}}}}
}`, admin, server, upstreams(on), upstreams(off)))

	before := scrapeByUpstream(t, admin, server)
	for _, path := range []string{"/on", "/off", "/off"} {
		if res, _, _ := request(t, c, "GET", path); res.StatusCode != 502 {
			t.Fatalf("%s: %d, want 502", path, res.StatusCode)
		}
	}
	want := maps.Clone(before)
	want[upSeries{on, "502", "connection_refused"}]++
	expectUpSeries(t, "after failures of both handlers", scrapeByUpstream(t, admin, server), want)
	for _, m := range scrapeFamilies(t, admin)[metricName].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["server"] == server && labels["cause"] == "connection_refused" {
			if n := m.GetCounter().GetValue(); n != 3 {
				t.Errorf("%s{cause=connection_refused} = %v, want the 3 failures of both handlers", metricName, n)
			}
			return
		}
	}
	t.Errorf("no %s{cause=connection_refused} series for %s", metricName, server)
}
