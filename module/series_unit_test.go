package upstreamerrors

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TestSeriesOfACustomInterceptList specifies the series created at 0 for
// upstream statuses: one per status the handler's own intercept list can
// replace, with the status it is replaced by, and none for a status it
// lets through.
func TestSeriesOfACustomInterceptList(t *testing.T) {
	if err := registerMetrics(nil); err != nil {
		t.Fatal(err)
	}
	h, _, _ := handlerSetup(t, &Handler{Intercept: []string{"500", "503"}})
	server := fmt.Sprintf("series-%d", time.Now().UnixNano())
	h.initSeries(server)

	var got []string
	ch := make(chan prometheus.Metric, 256)
	go func() { metrics.responses.Collect(ch); close(ch) }()
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err != nil {
			t.Fatal(err)
		}
		labels := map[string]string{}
		for _, l := range pb.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["server"] == server && labels["cause"] == causeHTTPResponseStatus {
			got = append(got, labels["status"])
		}
	}
	slices.Sort(got)
	// 500 is replaced by 502, 503 keeps its status; 502 and 504 pass
	want := []string{"502", "503"}
	if !slices.Equal(got, want) {
		t.Errorf("http_response_status series for statuses %v, want %v", got, want)
	}
}
