package upstreamerrors

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/suggest"
)

// Status map keys that stand for a group rather than one cause or status.
const (
	// GroupTimeout maps every timeout cause.
	GroupTimeout = "timeout"
	// Group5xx maps every upstream 5xx status without an exact entry.
	Group5xx = "5xx"
)

// statusRange is an inclusive range of HTTP status codes.
type statusRange struct{ lo, hi int }

// parseStatusRange parses "502", "500-504" or "5xx". Its errors name
// 400-599, what intercept, its one caller, takes.
func parseStatusRange(s string) (statusRange, error) {
	if len(s) == 3 && strings.HasSuffix(s, "xx") && s[0] >= '1' && s[0] <= '5' {
		lo := int(s[0]-'0') * 100
		return statusRange{lo, lo + 99}, nil
	}
	lo, hi, isRange := strings.Cut(s, "-")
	l, err := parseStatus(lo)
	if err != nil {
		return statusRange{}, fmt.Errorf("%q is not a status (503), range (500-504) or class (5xx) within 400-599", s)
	}
	if !isRange {
		return statusRange{l, l}, nil
	}
	h, err := parseStatus(hi)
	if err != nil {
		return statusRange{}, fmt.Errorf("%q is not a status (503), range (500-504) or class (5xx) within 400-599", s)
	}
	if h < l {
		return statusRange{}, fmt.Errorf("range %q ends before it starts", s)
	}
	return statusRange{l, h}, nil
}

// parseStatus parses one HTTP status code in 100-599.
func parseStatus(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || len(s) != 3 {
		return 0, fmt.Errorf("%q is not an HTTP status code", s)
	}
	if err := validStatus(n); err != nil {
		return 0, err
	}
	return n, nil
}

// validStatus reports whether n is a status code HTTP can carry.
func validStatus(n int) error {
	if n < 100 || n > 599 {
		return fmt.Errorf("status %d is outside 100-599", n)
	}
	return nil
}

// isServerError reports whether n is a 5xx status.
func isServerError(n int) bool { return n >= 500 && n <= 599 }

// mappedStatuses is the range a status map value must lie in, as the
// error messages name it.
const mappedStatuses = "500-599"

// validateStatusMapping checks one status map entry: key names a cause,
// a group or an upstream 5xx status, and status is a 5xx status.
func validateStatusMapping(key string, status int) error {
	if key == causeHTTPResponseStatus {
		// a replaced response is answered by the status the upstream
		// sent; a key for the cause would be accepted and never used
		return fmt.Errorf("key %q cannot be mapped: a replaced upstream response is answered by its status; map that status (as in `status 500 503`) or %q", key, Group5xx)
	}
	if !validMapKey(key) {
		msg := fmt.Sprintf("key %q is not a cause code, %q, %q or an upstream 5xx status", key, GroupTimeout, Group5xx)
		if _, err := strconv.Atoi(key); err == nil {
			// a status, not a misspelled cause
			return fmt.Errorf("%s; an upstream status key must be %s", msg, mappedStatuses)
		}
		// a misspelled cause is the likely mistake: name the nearest
		// key and every cause, as the cause table is not at hand
		codes := slices.DeleteFunc(causeCodes(), func(c string) bool { return c == causeHTTPResponseStatus })
		return errors.New(msg + suggest.Hint(key, slices.Concat(codes, []string{GroupTimeout, Group5xx}), "cause codes", codes))
	}
	if !isServerError(status) {
		return fmt.Errorf("%q maps to %d, which is not %s: upstream failures are answered with a 5xx status", key, status, mappedStatuses)
	}
	return nil
}

// validMapKey reports whether key names a cause, a group or an upstream
// 5xx status.
func validMapKey(key string) bool {
	if _, ok := causes[key]; ok {
		return true
	}
	if key == GroupTimeout || key == Group5xx {
		return true
	}
	n, err := strconv.Atoi(key)
	return err == nil && len(key) == 3 && isServerError(n)
}

// parseIntercept parses an intercept entry, which must lie in 4xx or 5xx.
func parseIntercept(s string) (statusRange, error) {
	r, err := parseStatusRange(s)
	if err != nil {
		return r, err
	}
	if r.lo < 400 {
		return r, fmt.Errorf("%q: only 4xx and 5xx upstream statuses can be intercepted", s)
	}
	return r, nil
}

// statusForCause returns the response status for a failure cause.
func (h *Handler) statusForCause(cause string) int {
	if s, ok := h.StatusMap[cause]; ok {
		return s
	}
	info := causes[cause]
	if info.Timeout {
		if s, ok := h.StatusMap[GroupTimeout]; ok {
			return s
		}
	}
	if info.Status == 0 {
		return http.StatusBadGateway
	}
	return info.Status
}

// statusForUpstream returns the response status for an upstream status.
func (h *Handler) statusForUpstream(upstream int) int {
	// statusText: the key for a status HTTP defines costs no allocation
	if s, ok := h.StatusMap[statusText(upstream)]; ok {
		return s
	}
	if s, ok := h.StatusMap[Group5xx]; ok {
		return s
	}
	switch upstream {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return upstream
	}
	return http.StatusBadGateway
}

// intercepts reports whether an upstream response with this status is replaced.
func (h *Handler) intercepts(status int) bool {
	for _, r := range h.intercept {
		if status >= r.lo && status <= r.hi {
			return true
		}
	}
	return false
}
