package upstreamerrors

import (
	"maps"
	"slices"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/taxonomy"
)

// Cause codes name why a response was normalized or a request ended. They
// are shared by the problem body, the log entry, the placeholders, the
// metric and the span, so every signal speaks one taxonomy. What the
// module does for each (status, Proxy-Status error, gRPC code, detail,
// log level) is in the one cause table, internal/taxonomy, and in
// docs/reference.md's cause tables.
const (
	CauseDNSError              = taxonomy.DNSError
	CauseDNSTimeout            = taxonomy.DNSTimeout
	CauseConnectionRefused     = taxonomy.ConnectionRefused
	CauseConnectionTimeout     = taxonomy.ConnectionTimeout
	CauseConnectionTerminated  = taxonomy.ConnectionTerminated
	CauseConnectionReadTimeout = taxonomy.ConnectionReadTimeout
	CauseTLSProtocolError      = taxonomy.TLSProtocolError
	CauseTLSCertificateError   = taxonomy.TLSCertificateError
	CauseHTTPResponseTimeout   = taxonomy.HTTPResponseTimeout
	CauseHTTPProtocolError     = taxonomy.HTTPProtocolError
	CauseDestinationUnavail    = taxonomy.DestinationUnavail
	CauseHTTPResponseStatus    = taxonomy.HTTPResponseStatus
	CauseUpstreamError         = taxonomy.UpstreamError
	CauseDestinationOverloaded = taxonomy.DestinationOverloaded
	CauseProxyInternalError    = taxonomy.ProxyInternalError
	CauseMaintenance           = taxonomy.Maintenance
	// CauseHTTPResponseIncomplete is logged, never answered: the
	// upstream's body broke off after its headers were on the wire.
	CauseHTTPResponseIncomplete = taxonomy.HTTPResponseIncomplete

	// Causes of requests that ended by the client's doing: logged as
	// "client error" and counted in caddy_http_upstream_errors_client_total,
	// never as upstream errors.
	CauseClientCanceled       = taxonomy.ClientCanceled
	CauseClientDisconnected   = taxonomy.ClientDisconnected
	CauseClientBodyIncomplete = taxonomy.ClientBodyIncomplete

	// Causes of the errors of the site's own handlers, answered in an
	// error route (`handle_errors { upstream_errors }`).
	CauseHTTPRequestDenied     = taxonomy.HTTPRequestDenied
	CauseHTTPRequestError      = taxonomy.HTTPRequestError
	CauseProxyInternalResponse = taxonomy.ProxyInternalResponse
)

// causeInfo is what the module knows about a cause.
type causeInfo = taxonomy.Cause

// causes are the upstream causes a response can be normalized for.
var causes = func() map[string]causeInfo {
	m := make(map[string]causeInfo)
	for _, c := range taxonomy.Table {
		if c.Class == taxonomy.Upstream && c.Answered {
			m[c.Name] = c
		}
	}
	return m
}()

// clientCauses are the client-side causes, with the RFC 9209 error type
// of the one that is answered.
var clientCauses = func() map[string]string {
	m := make(map[string]string)
	for _, c := range taxonomy.Table {
		if c.Class == taxonomy.Client {
			m[c.Name] = c.ProxyError
		}
	}
	return m
}()

// isClientCause reports whether cause is the client's doing.
func isClientCause(cause string) bool {
	_, ok := clientCauses[cause]
	return ok
}

// CauseCodes returns the cause codes a response can be normalized for,
// sorted.
func CauseCodes() []string {
	return slices.Sorted(maps.Keys(causes))
}
