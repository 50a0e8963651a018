package upstreamerrors

import (
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
var formats = [...]struct{ name, mediaType string }{
	{FormatProblem, "application/problem+json"},
	{FormatJSON, "application/json"},
	{FormatHTML, "text/html"},
	{FormatText, "text/plain"},
}

// mediaType returns the Content-Type for format.
func mediaType(format string) string {
	for i, f := range formats {
		if f.name == format {
			return contentTypes[i]
		}
	}
	return ""
}

// contentTypes holds each format's Content-Type, built once rather than
// on every response: a text type names its charset.
var contentTypes = func() (ct [len(formats)]string) {
	for i, f := range formats {
		ct[i] = f.mediaType
		if strings.HasPrefix(f.mediaType, "text/") {
			ct[i] += "; charset=utf-8"
		}
	}
	return ct
}()

// validFormat reports whether name is a known format.
func validFormat(name string) bool { return mediaType(name) != "" }

// negotiate picks the format for the Accept field lines of a request
// (RFC 9110 §12.5.1): the highest-weighted media range that a format
// matches wins, more specific ranges beat wildcards at equal weight, a
// format refused outright (an exact range with q=0) is never picked
// through a wildcard, and the configured default answers a missing field,
// a bare */* and anything unmatched. Several field lines count as one
// comma-separated list.
//
// The work is linear in the size of the fields and allocation-free: two
// passes over the bytes, each range matched in constant time. Quoted
// parameter values may hold ',' ';' and '=' (charset="a;q=0"). A range
// whose weight is not an RFC 9110 qvalue is ignored. munnerz/goautoneg,
// in the module graph, splits on every ',' and ';' (quotes included) and
// sorts, so it is not used.
func negotiate(accept []string, def string) string {
	var refused [len(formats)]bool
	seen := false
	for _, line := range accept {
		eachRange(line, func(mr string, q int) {
			seen = true
			if q == 0 {
				if i := exactFormat(mr); i >= 0 {
					refused[i] = true
				}
			}
		})
	}
	if !seen {
		return def
	}
	best, bestQ, bestSpec := def, -1, -1
	for _, line := range accept {
		eachRange(line, func(mr string, q int) {
			if q <= 0 {
				return
			}
			name, spec := matchRange(mr, def, &refused)
			if name == "" {
				return
			}
			if q > bestQ || q == bestQ && spec > bestSpec {
				best, bestQ, bestSpec = name, q, spec
			}
		})
	}
	return best
}

// eachRange calls fn with each media range of one Accept field value and
// its weight in thousandths (-1 when the weight is malformed). Separators
// inside quoted strings are skipped; the media range is not lower-cased
// here (matching is case-insensitive).
func eachRange(s string, fn func(mr string, q int)) {
	for len(s) > 0 {
		var elem string
		elem, s = cutUnquoted(s, ',')
		mr, params, _ := strings.Cut(elem, ";")
		mr = strings.TrimSpace(mr)
		if mr == "" {
			continue
		}
		fn(mr, weight(params))
	}
}

// weight returns the q parameter of a range's parameters in thousandths:
// 1000 when absent, -1 when malformed.
func weight(params string) int {
	q := 1000
	for len(params) > 0 {
		var p string
		p, params = cutUnquoted(params, ';')
		k, v, ok := strings.Cut(p, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
			if q = parseQValue(strings.TrimSpace(v)); q < 0 {
				return -1
			}
		}
	}
	return q
}

// cutUnquoted splits s at the first sep outside a quoted string.
func cutUnquoted(s string, sep byte) (before, after string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case inQuote && c == '\\':
			i++
		case c == '"':
			inQuote = !inQuote
		case !inQuote && c == sep:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

// parseQValue parses an RFC 9110 qvalue ("0", "0.5", "1.000") into
// thousandths, or returns -1.
func parseQValue(v string) int {
	if len(v) == 0 || len(v) > 5 || v[0] != '0' && v[0] != '1' {
		return -1
	}
	q := int(v[0]-'0') * 1000
	if len(v) == 1 {
		return q
	}
	if v[1] != '.' {
		return -1
	}
	scale := 100
	for i := 2; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return -1
		}
		q += int(c-'0') * scale
		scale /= 10
	}
	if q > 1000 {
		return -1
	}
	return q
}

// exactFormat returns the index of the format whose media type is mr, or -1.
func exactFormat(mr string) int {
	for i, f := range formats {
		if strings.EqualFold(f.mediaType, mr) {
			return i
		}
	}
	return -1
}

// matchRange returns the format a media range selects and how specific
// the range is (2 exact, 1 type/*, 0 */*); a wildcard prefers def and
// skips refused formats.
func matchRange(mr, def string, refused *[len(formats)]bool) (string, int) {
	typ, sub, ok := strings.Cut(mr, "/")
	if !ok {
		return "", 0
	}
	if strings.TrimSpace(sub) != "*" {
		if i := exactFormat(mr); i >= 0 {
			return formats[i].name, 2
		}
		return "", 0
	}
	typ = strings.TrimSpace(typ)
	spec := 1
	if typ == "*" {
		spec = 0
	}
	matches := func(i int) bool {
		if refused[i] {
			return false
		}
		if spec == 0 {
			return true
		}
		mt := formats[i].mediaType
		return len(mt) > len(typ) && mt[len(typ)] == '/' && strings.EqualFold(mt[:len(typ)], typ)
	}
	for i, f := range formats {
		if f.name == def && matches(i) {
			return def, spec
		}
	}
	for i, f := range formats {
		if matches(i) {
			return f.name, spec
		}
	}
	return "", 0
}
