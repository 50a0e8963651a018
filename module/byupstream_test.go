package upstreamerrors_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

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

// perUpstreamConfig is a JSON config of one server named for this run (the
// counters are process-wide) with upstream_errors counting by upstream
// up to max, then a route per path to reverse_proxy with the given
// options.
func perUpstreamConfig(t *testing.T, max int, routes map[string]string) (cfg, server, admin string) {
	server = fmt.Sprintf("per-upstream-%d", time.Now().UnixNano())
	admin = fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t))
	rs := make([]string, 0, len(routes))
	for path, proxy := range routes {
		rs = append(rs, fmt.Sprintf(`{"match": [{"path": [%q]}], "handle": [{"handler": "reverse_proxy", %s}]}`, path, proxy))
	}
	cfg = fmt.Sprintf(`{
	"admin": {"listen": %q, "config": {"persist": false}},
	"apps": {"http": {"metrics": {}, "servers": {%q: {"listen": ["127.0.0.1:PORT"], "routes": [
		{"handle": [
			{"handler": "upstream_errors", "metrics": {"per_upstream": true, "max_upstreams": %d}},
			{"handler": "subroute", "routes": [%s]}
		]}
	]}}}}
}`, admin, server, max, strings.Join(rs, ",\n"))
	return cfg, server, admin
}

func upstreams(dials ...string) string {
	ups := make([]string, 0, len(dials))
	for _, d := range dials {
		ups = append(ups, fmt.Sprintf(`{"dial": %q}`, d))
	}
	return `"upstreams": [` + strings.Join(ups, ", ") + `]`
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
	cfg, server, admin := perUpstreamConfig(t, 2, map[string]string{
		"/refused": upstreams(refused),
		"/page":    upstreams(page),
		"/reset":   upstreams(reset),
		"/once":    upstreams(once) + `, "health_checks": {"passive": {"fail_duration": "1m", "max_fails": 1}}`,
		"/ok":      upstreams(ok),
	})
	c := testcaddy.StartJSON(t, cfg)

	// before any failure: only the series of a failure with no upstream
	want := map[upSeries]float64{{"", "503", "destination_unavailable"}: 0}
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

	// the plain counter is unchanged by the extra one: each of its series
	// is the sum over upstreams
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
// series: five upstreams taken in turn, max 3, name three of them (each
// one of the five) and count the other failures as "other".
func TestPerUpstreamBound(t *testing.T) {
	upstreamerrors.ForgetUpstreams()
	dials := make([]string, 0, 5)
	for range 5 {
		dials = append(dials, testcaddy.ClosedPort(t))
	}
	cfg, server, admin := perUpstreamConfig(t, 3, map[string]string{
		"/*": upstreams(dials...) + `, "load_balancing": {"selection_policy": {"policy": "random"}}`,
	})
	c := testcaddy.StartJSON(t, cfg)
	const n = 40
	for range n {
		if res, _, _ := request(t, c, "GET", "/"); res.StatusCode != 502 {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	got := scrapeByUpstream(t, admin, server)
	named, total := 0, 0.0
	for s, v := range got {
		total += v
		switch {
		case s.upstream == "other", s.upstream == "":
		case !strings.Contains(strings.Join(dials, " "), s.upstream):
			t.Errorf("series of an unknown upstream %+v", s)
		default:
			named++
		}
	}
	if named != 3 {
		t.Errorf("%d upstreams named, want 3: %v", named, got)
	}
	if total != n {
		t.Errorf("%v failures counted, want %d: %v", total, n, got)
	}
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
