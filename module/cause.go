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
	causeDNSError              = taxonomy.DNSError
	causeDNSTimeout            = taxonomy.DNSTimeout
	causeConnectionRefused     = taxonomy.ConnectionRefused
	causeConnectionTimeout     = taxonomy.ConnectionTimeout
	causeConnectionTerminated  = taxonomy.ConnectionTerminated
	causeConnectionReadTimeout = taxonomy.ConnectionReadTimeout
	causeTLSProtocolError      = taxonomy.TLSProtocolError
	causeTLSCertificateError   = taxonomy.TLSCertificateError
	causeHTTPResponseTimeout   = taxonomy.HTTPResponseTimeout
	causeHTTPProtocolError     = taxonomy.HTTPProtocolError
	causeDestinationUnavail    = taxonomy.DestinationUnavail
	causeHTTPResponseStatus    = taxonomy.HTTPResponseStatus
	causeUpstreamError         = taxonomy.UpstreamError
	causeDestinationOverloaded = taxonomy.DestinationOverloaded
	causeProxyInternalError    = taxonomy.ProxyInternalError
	causeMaintenance           = taxonomy.Maintenance
	// causeHTTPResponseIncomplete is logged, never answered: the
	// upstream's body broke off after its headers were on the wire.
	causeHTTPResponseIncomplete = taxonomy.HTTPResponseIncomplete

	// Causes of requests that ended by the client's doing: logged as
	// "client error" and counted in caddy_http_upstream_errors_client_total,
	// never as upstream errors.
	causeClientCanceled       = taxonomy.ClientCanceled
	causeClientDisconnected   = taxonomy.ClientDisconnected
	causeClientBodyIncomplete = taxonomy.ClientBodyIncomplete

	// Causes of the errors of the site's own handlers, answered in an
	// error route (`handle_errors { upstream_errors }`).
	causeHTTPRequestDenied     = taxonomy.HTTPRequestDenied
	causeHTTPRequestError      = taxonomy.HTTPRequestError
	causeProxyInternalResponse = taxonomy.ProxyInternalResponse
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

// causeCodes returns the cause codes a response can be normalized for,
// sorted.
func causeCodes() []string {
	return slices.Sorted(maps.Keys(causes))
}
