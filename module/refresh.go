package upstreamerrors

import (
	"net/http"
	"strconv"
	"time"
)

// The built-in page for a 503 reloads itself once its Retry-After has
// passed, so a browser left on it comes back when the service does. The
// wait is clamped: never so short that an open tab hammers a struggling
// site, never so long that it stays on the page well after a window that
// ended early.
const (
	minRefresh = 5 * time.Second
	maxRefresh = 5 * time.Minute
)

// pageRefresh returns the seconds after which the built-in page for a
// response of status with header hdr reloads, or 0 for none.
func pageRefresh(hdr http.Header, status int) int {
	if status != http.StatusServiceUnavailable {
		return 0
	}
	return refreshAfter(hdr["Retry-After"], time.Now())
}

// refreshAfter turns a Retry-After field, as setRetryAfter left it (one
// valid value), into the page's refresh in seconds at now, or 0 for none.
func refreshAfter(vals []string, now time.Time) int {
	if len(vals) != 1 {
		return 0
	}
	var wait time.Duration
	if secs, err := strconv.ParseUint(vals[0], 10, 32); err == nil {
		wait = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(vals[0]); err == nil {
		wait = t.Sub(now)
	} else {
		return 0
	}
	wait = min(max(wait, minRefresh), maxRefresh)
	return int((wait + time.Second - 1) / time.Second)
}
