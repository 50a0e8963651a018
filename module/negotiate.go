package upstreamerrors

import (
	"slices"
	"strconv"
	"strings"
)

// Body formats a normalized response can be written in.
const (
	FormatProblem = "problem"
	FormatJSON    = "json"
	FormatHTML    = "html"
	FormatText    = "text"
)

// formats maps each format to its media type, in the order ties are
// broken when the client accepts several equally.
var formats = []struct{ name, mediaType string }{
	{FormatProblem, "application/problem+json"},
	{FormatJSON, "application/json"},
	{FormatHTML, "text/html"},
	{FormatText, "text/plain"},
}

// mediaType returns the Content-Type for format.
func mediaType(format string) string {
	for _, f := range formats {
		if f.name == format {
			if strings.HasPrefix(f.mediaType, "text/") {
				return f.mediaType + "; charset=utf-8"
			}
			return f.mediaType
		}
	}
	return ""
}

// validFormat reports whether name is a known format.
func validFormat(name string) bool { return mediaType(name) != "" }

// negotiate picks the format for an Accept header (RFC 9110 §12.5.1):
// the highest-weighted media range that a format matches wins, more
// specific ranges beat wildcards at equal weight, and the configured
// default answers a missing header, a bare */* and anything unmatched.
func negotiate(accept, def string) string {
	if accept == "" {
		return def
	}
	parts := strings.Split(accept, ",")
	// formats refused outright (q=0) are never picked through a wildcard
	var refused []string
	for _, part := range parts {
		if mr, q := parseMediaRange(part); q == 0 {
			if name, spec := matchRange(mr, def, nil); spec == 2 {
				refused = append(refused, name)
			}
		}
	}
	best, bestQ, bestSpec := def, -1.0, -1
	for _, part := range parts {
		mr, q := parseMediaRange(part)
		if q <= 0 || mr == "" {
			continue
		}
		name, spec := matchRange(mr, def, refused)
		if name == "" {
			continue
		}
		if q > bestQ || q == bestQ && spec > bestSpec {
			best, bestQ, bestSpec = name, q, spec
		}
	}
	return best
}

// parseMediaRange returns the lower-cased type/subtype and its weight.
// A range with a malformed weight is ignored (weight -1).
func parseMediaRange(s string) (string, float64) {
	mr, params, _ := strings.Cut(s, ";")
	mr = strings.ToLower(strings.TrimSpace(mr))
	q := 1.0
	for _, p := range strings.Split(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil || f < 0 || f > 1 {
				return "", -1
			}
			q = f
		}
	}
	return mr, q
}

// matchRange returns the format a media range selects and how specific
// the range is (2 exact, 1 type/*, 0 */*); a wildcard prefers def and
// skips refused formats.
func matchRange(mr, def string, refused []string) (string, int) {
	typ, sub, ok := strings.Cut(mr, "/")
	if !ok {
		return "", 0
	}
	if sub == "*" {
		spec := 1
		if typ == "*" {
			spec = 0
		}
		matches := func(name string) bool {
			return !slices.Contains(refused, name) && (spec == 0 || strings.HasPrefix(mediaType(name), typ+"/"))
		}
		if matches(def) {
			return def, spec
		}
		for _, f := range formats {
			if matches(f.name) {
				return f.name, spec
			}
		}
		return "", 0
	}
	for _, f := range formats {
		if f.mediaType == mr {
			return f.name, 2
		}
	}
	return "", 0
}
