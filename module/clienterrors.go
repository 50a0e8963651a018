package upstreamerrors

import (
	"fmt"
	"mime"
	"net/http"
	"strings"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/taxonomy"
)

// Group4xx names the class of client error statuses.
const Group4xx = "4xx"

// classSet is a set of status classes, indexed by the status's first digit.
type classSet [6]bool

// has reports whether status's class is in the set.
func (s classSet) has(status int) bool {
	c := status / 100
	return c >= 0 && c < len(s) && s[c]
}

// passJSONClasses returns the configured pass_json classes; Validate has
// checked them.
func (h *Handler) passJSONClasses() classSet {
	var set classSet
	if h.PassJSON == nil {
		set[4] = true
		return set
	}
	for _, c := range *h.PassJSON {
		switch c {
		case Group4xx:
			set[4] = true
		case Group5xx:
			set[5] = true
		}
	}
	return set
}

// validatePassJSONClass checks one status class of pass_json.
func validatePassJSONClass(c string) error {
	if c != Group4xx && c != Group5xx {
		return fmt.Errorf("%q is not a status class; want %s or %s (or off for none)", c, Group4xx, Group5xx)
	}
	return nil
}

// passesJSON reports whether an intercepted upstream response passes
// through because its body is JSON and its class is in pass_json.
func (h *Handler) passesJSON(status int, hdr http.Header) bool {
	return h.passJSON.has(status) && isJSONMediaType(hdr.Get("Content-Type"))
}

// isJSONMediaType reports whether a Content-Type value names JSON:
// application/json or any type with the +json structured suffix (RFC 6839),
// such as application/problem+json.
func isJSONMediaType(v string) bool {
	if v == "" {
		return false
	}
	mt, _, err := mime.ParseMediaType(v) // lowercases the type
	if err != nil {
		return false
	}
	if mt == "application/json" {
		return true
	}
	_, sub, _ := strings.Cut(mt, "/")
	return len(sub) > len("+json") && strings.HasSuffix(sub, "+json")
}

// clientErrorDetail is the detail of a 4xx without its own sentence.
const clientErrorDetail = taxonomy.ClientDetail

// clientDetail returns the detail for a 4xx status.
func clientDetail(status int) string {
	return taxonomy.Detail("", status, 0, false)
}

// isClientError reports whether n is a 4xx status.
func isClientError(n int) bool { return n >= 400 && n <= 499 }

// statusFields are the upstream header fields a replaced response of a
// status keeps whatever keep_headers says, since without them the status
// means little: a 401 without its challenge, a 405 without the methods
// that are allowed. A 407's Proxy-Authenticate is not among them:
// reverse_proxy removes it from every upstream response as a hop-by-hop
// field, so stock Caddy never passes it either.
var statusFields = map[int][]string{
	http.StatusUnauthorized:                 {"Www-Authenticate"},
	http.StatusMethodNotAllowed:             {"Allow"},
	http.StatusRequestedRangeNotSatisfiable: {"Content-Range"},
	http.StatusTooManyRequests:              {"Retry-After"},
	http.StatusServiceUnavailable:           {"Retry-After"},
}

// keptFields returns the upstream fields of hdr that a replaced response
// of status keeps: those the status needs and those of keep, or nil.
func (h *Handler) keptFields(hdr http.Header, status int) http.Header {
	var kept http.Header
	add := func(k string) {
		v, ok := hdr[k]
		if !ok {
			return
		}
		if k == "Content-Range" && !unsatisfiedRange(v) {
			// only "*/length" describes the resource; a byte range would
			// label the problem body as a part of it
			return
		}
		if kept == nil {
			kept = make(http.Header, len(h.keep)+1)
		}
		kept[k] = v
	}
	for _, k := range h.keep {
		add(k)
	}
	for _, k := range statusFields[status] {
		add(k)
	}
	return kept
}

// unsatisfiedRange reports whether vals is one Content-Range of the
// unsatisfied form a 416 carries (RFC 9110 §14.4): "bytes */1234".
func unsatisfiedRange(vals []string) bool {
	if len(vals) != 1 {
		return false
	}
	unit, length, ok := strings.Cut(vals[0], " */")
	if !ok || !validFieldName(unit) || length == "" {
		return false
	}
	for i := 0; i < len(length); i++ {
		if length[i] < '0' || length[i] > '9' {
			return false
		}
	}
	return true
}
