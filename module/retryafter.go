package upstreamerrors

import (
	"net/http"
	"strconv"
	"time"
)

// maxRetryAfter bounds an upstream's Retry-After that is passed on: a
// longer wait is more likely a bug or a hostile value than advice a
// client should follow.
const maxRetryAfter = 24 * time.Hour

// setRetryAfter leaves a valid upstream Retry-After in hdr, drops an
// invalid one, and sends fallback (the configured value) with a 503 that
// has none left.
func setRetryAfter(hdr http.Header, status int, fallback string) {
	if vals, ok := hdr["Retry-After"]; ok && !validRetryAfter(vals, time.Now()) {
		delete(hdr, "Retry-After")
	}
	if status == http.StatusServiceUnavailable && len(hdr["Retry-After"]) == 0 {
		hdr.Set("Retry-After", fallback)
	}
}

// validRetryAfter reports whether vals is one Retry-After field (RFC 9110
// §10.2.3) worth passing on: delta-seconds up to maxRetryAfter, or an
// HTTP-date after now and at most maxRetryAfter ahead.
func validRetryAfter(vals []string, now time.Time) bool {
	if len(vals) != 1 {
		return false
	}
	v := vals[0]
	if v == "" {
		return false
	}
	if isDigits(v) {
		secs, err := strconv.ParseUint(v, 10, 64)
		return err == nil && secs <= uint64(maxRetryAfter/time.Second)
	}
	t, err := http.ParseTime(v)
	return err == nil && t.After(now) && t.Sub(now) <= maxRetryAfter
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}
