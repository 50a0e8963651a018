package upstreamerrors

import (
	"strconv"
	"strings"
)

// DefaultProxyStatusName names this intermediary in Proxy-Status.
const DefaultProxyStatusName = "caddy"

// proxyStatusErrors maps causes to RFC 9209 error types. Causes are named
// after them, so only those without an RFC 9209 counterpart differ.
var proxyStatusErrors = map[string]string{
	CauseUpstreamError: "proxy_internal_error",
}

// proxyStatus builds the Proxy-Status field value (RFC 9209) for f: the
// error type for a failure, the received status for a replaced response.
func proxyStatus(name string, f failure) string {
	var b strings.Builder
	b.WriteString(sfItem(name))
	if f.upstreamStatus != 0 {
		b.WriteString("; received-status=")
		b.WriteString(strconv.Itoa(f.upstreamStatus))
		return b.String()
	}
	errType := f.cause
	if t, ok := proxyStatusErrors[f.cause]; ok {
		errType = t
	}
	b.WriteString("; error=")
	b.WriteString(errType)
	return b.String()
}

// sfItem returns name as a structured-field token when it is one (as in
// RFC 9209's examples), and as a quoted string otherwise.
func sfItem(name string) string {
	if isSFToken(name) {
		return name
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(name); i++ {
		c := name[i]
		if c == '"' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
	}
	b.WriteByte('"')
	return b.String()
}

// isSFToken reports whether s is an RFC 8941 token.
func isSFToken(s string) bool {
	if s == "" {
		return false
	}
	if c := s[0]; !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '*') {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !validTokenByte(c) && c != ':' && c != '/' {
			return false
		}
	}
	return true
}

// validProxyStatusName reports whether s can be sent as an sf-string:
// printable ASCII only.
func validProxyStatusName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}
