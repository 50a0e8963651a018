package upstreamerrors

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestRefreshAfter(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	date := func(d time.Duration) []string { return []string{now.Add(d).Format(http.TimeFormat)} }
	for _, tc := range []struct {
		name string
		vals []string
		want int
	}{
		{"seconds", []string{"17"}, 17},
		{"shorter than the least", []string{"1"}, 5},
		{"zero", []string{"0"}, 5},
		{"longer than the most", []string{"3600"}, 300},
		{"the most", []string{"300"}, 300},
		{"date", date(2 * time.Minute), 120},
		{"near date", date(time.Second), 5},
		{"far date", date(20 * time.Hour), 300},
		{"none", nil, 0},
		{"two fields", []string{"5", "6"}, 0},
		{"not a wait", []string{"soon"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := refreshAfter(tc.vals, now); got != tc.want {
				t.Errorf("refreshAfter(%q) = %d, want %d", tc.vals, got, tc.want)
			}
		})
	}
}

// Only a 503 reloads itself: another status's Retry-After (a 429's) is
// not a promise that the page will work then.
func TestPageRefreshOnlyFor503(t *testing.T) {
	hdr := http.Header{"Retry-After": {"30"}}
	if got := pageRefresh(hdr, http.StatusServiceUnavailable); got != 30 {
		t.Errorf("503: refresh %d, want 30", got)
	}
	for _, status := range []int{http.StatusTooManyRequests, http.StatusBadGateway, http.StatusGatewayTimeout} {
		if got := pageRefresh(hdr, status); got != 0 {
			t.Errorf("%d: refresh %d, want none", status, got)
		}
	}
}

// The refresh goes in the head of the built-in page, with or without a
// request ID.
func TestRefreshInBuiltInPage(t *testing.T) {
	h := &Handler{bodies: new(bodyCache)}
	for _, id := range []string{"", "req-1"} {
		v := bodyValues{Status: 503, Title: "Service Unavailable", Detail: "d", Cause: causeDestinationUnavail, RequestID: id, Refresh: 42}
		page := string(appendHTMLBody(nil, h.bodyParts(&v), &v))
		meta := `<meta http-equiv="refresh" content="42">`
		if i, end := strings.Index(page, meta), strings.Index(page, "</head>"); i < 0 || i > end {
			t.Errorf("id %q: no refresh in the head:\n%s", id, page)
		}
		v.Refresh = 0
		if page := string(appendHTMLBody(nil, h.bodyParts(&v), &v)); strings.Contains(page, "refresh") {
			t.Errorf("id %q: a refresh without a wait:\n%s", id, page)
		}
	}
}
