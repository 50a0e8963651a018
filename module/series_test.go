package upstreamerrors_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// metricName is the module's counter.
const metricName = "caddy_http_upstream_errors_total"

// defaultStatuses is the documented status table: the status each cause
// is answered with by default. An upstream status keeps 502, 503 and 504
// and turns every other 5xx into 502.
var defaultStatuses = map[string][]int{
	"dns_error":               {502},
	"dns_timeout":             {504},
	"connection_refused":      {502},
	"destination_overloaded":  {503},
	"connection_timeout":      {504},
	"connection_terminated":   {502},
	"connection_read_timeout": {504},
	"tls_protocol_error":      {502},
	"tls_certificate_error":   {502},
	"http_response_timeout":   {504},
	"http_protocol_error":     {502},
	"destination_unavailable": {503},
	"proxy_internal_error":    {502},
	"upstream_error":          {502},
	"http_response_status":    {502, 503, 504},
}

// series names one series of the counter.
type series struct {
	server, status, class, cause string
}

// scrapeFamilies reads every metric family from the admin endpoint.
func scrapeFamilies(t *testing.T, admin string) map[string]*dto.MetricFamily {
	t.Helper()
	res, err := http.Get("http://" + admin + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return families
}

// scrapeCounter reads the counter's family from the admin endpoint, and
// its series of the given servers with their values.
func scrapeCounter(t *testing.T, admin string, servers ...string) (*dto.MetricFamily, map[series]float64) {
	t.Helper()
	mf := scrapeFamilies(t, admin)[metricName]
	out := make(map[series]float64)
	if mf == nil {
		return nil, out
	}
	for _, m := range mf.GetMetric() {
		var s series
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "server":
				s.server = l.GetValue()
			case "status":
				s.status = l.GetValue()
			case "class":
				s.class = l.GetValue()
			case "cause":
				s.cause = l.GetValue()
			}
		}
		for _, srv := range servers {
			if s.server == srv {
				out[s] = m.GetCounter().GetValue()
			}
		}
	}
	return mf, out
}

// Every series a handler can count exists at 0 once it is provisioned,
// for each server it is in, so rate() and ratios have data before the
// first failure; the exposition passes Prometheus' lint, and a reload
// keeps the same series with their counts.
func TestSeriesFromProvisioning(t *testing.T) {
	// the metric is process-wide: server names of this run's own
	run := time.Now().UnixNano()
	api, shop := fmt.Sprintf("api-%d", run), fmt.Sprintf("shop-%d", run)
	admin := fmt.Sprintf("127.0.0.1:%d", testcaddy.FreePort(t))
	dead := testcaddy.ClosedPort(t)
	cfg := fmt.Sprintf(`{
	"admin": {"listen": %[1]q, "config": {"persist": false}},
	"apps": {"http": {"metrics": {}, "servers": {
		%[2]q: {"listen": ["127.0.0.1:PORT"], "routes": [{"handle": [
			{"handler": "upstream_errors", "status_map": {"connection_refused": 503}},
			{"handler": "reverse_proxy", "upstreams": [{"dial": %[4]q}]}
		]}]},
		%[3]q: {"listen": ["127.0.0.1:%[5]d"], "routes": [{"handle": [
			{"handler": "upstream_errors", "maintenance": {"file": %[6]q}},
			{"handler": "reverse_proxy", "upstreams": [{"dial": %[4]q}]}
		]}]}
	}}}
}`, admin, api, shop, dead, testcaddy.FreePort(t), t.TempDir()+"/maintenance")

	want := make(map[series]float64)
	for cause, statuses := range defaultStatuses {
		for _, status := range statuses {
			want[series{shop, fmt.Sprint(status), "5xx", cause}] = 0
			if cause == "connection_refused" {
				status = 503 // api's status_map
			}
			want[series{api, fmt.Sprint(status), "5xx", cause}] = 0
		}
	}
	// only the handler with maintenance can answer for it
	want[series{shop, "503", "5xx", "maintenance"}] = 0

	c := testcaddy.StartJSON(t, cfg)
	mf, got := scrapeCounter(t, admin, api, shop)
	expectSeries(t, "at provisioning", got, want)
	if mf == nil {
		t.Fatal("no counter on /metrics")
	}
	problems, err := promlint.NewWithMetricFamilies([]*dto.MetricFamily{mf}).Lint()
	if err != nil || len(problems) > 0 {
		t.Errorf("promlint: %v %v", problems, err)
	}
	// the client counter's series too, one per server and client cause
	clientSeries := map[string]bool{}
	for _, m := range scrapeFamilies(t, admin)["caddy_http_upstream_errors_client_total"].GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if (labels["server"] == api || labels["server"] == shop) && m.GetCounter().GetValue() == 0 {
			clientSeries[labels["server"]+"/"+labels["cause"]] = true
		}
	}
	for _, srv := range []string{api, shop} {
		for _, cause := range []string{"client_canceled", "client_disconnected", "client_body_incomplete"} {
			if !clientSeries[srv+"/"+cause] {
				t.Errorf("no client series at 0 for %s %s: %v", srv, cause, clientSeries)
			}
		}
	}

	res, body, id := request(t, c, "GET", "/")
	expectProblem(t, c, res, body, id, problem{status: 503, cause: "connection_refused"})
	want[series{api, "503", "5xx", "connection_refused"}] = 1
	_, got = scrapeCounter(t, admin, api, shop)
	expectSeries(t, "after a failure", got, want)

	c.ReloadJSON(cfg)
	_, got = scrapeCounter(t, admin, api, shop)
	expectSeries(t, "after a reload", got, want)
}

// expectSeries asserts exactly the series of want, with their values.
func expectSeries(t *testing.T, when string, got, want map[series]float64) {
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
