package upstreamerrors

import (
	"maps"
	"slices"
)

// Cause codes name why a response was normalized. They are shared by the
// problem body, the log entry, the placeholders and the metric, so every
// signal speaks one taxonomy. Each cause has one RFC 9209 Proxy-Status
// error type (see causes); a cause is named after its type where RFC 9209
// defines the same condition.
const (
	CauseDNSError              = "dns_error"
	CauseDNSTimeout            = "dns_timeout"
	CauseConnectionRefused     = "connection_refused"
	CauseConnectionTimeout     = "connection_timeout"
	CauseConnectionTerminated  = "connection_terminated"
	CauseConnectionReadTimeout = "connection_read_timeout"
	CauseTLSProtocolError      = "tls_protocol_error"
	CauseTLSCertificateError   = "tls_certificate_error"
	CauseHTTPResponseTimeout   = "http_response_timeout"
	CauseHTTPProtocolError     = "http_protocol_error"
	CauseDestinationUnavail    = "destination_unavailable"
	CauseHTTPResponseStatus    = "http_response_status"
	CauseUpstreamError         = "upstream_error"

	// CauseDestinationOverloaded is a connection the upstream's kernel
	// refused at once because its accept queue is full (EAGAIN on a unix
	// socket: php-fpm with a small listen.backlog under load). RFC 9209 has
	// no overload type; the attempt was refused, so Proxy-Status says
	// connection_refused, while the status is the 503 of an overloaded
	// server. A TCP queue that drops SYNs is a connection_timeout instead.
	CauseDestinationOverloaded = "destination_overloaded"

	// CauseProxyInternalError is a request the proxy could not send, such
	// as one with a header value that header_up built from request data and
	// net/http refused to write. The upstream never saw it.
	CauseProxyInternalError = "proxy_internal_error"

	// CauseMaintenance is a request answered during planned maintenance:
	// the handler's maintenance file exists, so the upstream was not
	// contacted. The next hop is unavailable by plan, which RFC 9209 calls
	// destination_unavailable.
	CauseMaintenance = "maintenance"

	// CauseHTTPResponseIncomplete is logged, never answered: the
	// upstream's body broke off after its headers were on the wire.
	CauseHTTPResponseIncomplete = "http_response_incomplete"
)

// causeInfo is what the module knows about a cause that it answers.
type causeInfo struct {
	// status is the default response status.
	status int
	// timeout marks the cause as part of the "timeout" status_map group.
	timeout bool
	// detail is the generic, safe sentence put in the problem body.
	detail string
	// proxyError is the RFC 9209 error type sent in Proxy-Status.
	proxyError string
}

// causes lists every cause a response can be normalized for.
var causes = map[string]causeInfo{
	CauseDNSError:              {status: 502, proxyError: "dns_error", detail: "The upstream server's address could not be resolved."},
	CauseDNSTimeout:            {status: 504, proxyError: "dns_timeout", timeout: true, detail: "Resolving the upstream server's address timed out."},
	CauseConnectionRefused:     {status: 502, proxyError: "connection_refused", detail: "The upstream server refused the connection."},
	CauseDestinationOverloaded: {status: 503, proxyError: "connection_refused", detail: "The upstream server is overloaded and could not accept the connection."},
	CauseConnectionTimeout:     {status: 504, proxyError: "connection_timeout", timeout: true, detail: "The upstream server could not be reached in time."},
	CauseConnectionTerminated:  {status: 502, proxyError: "connection_terminated", detail: "The upstream server closed the connection without a complete response."},
	CauseConnectionReadTimeout: {status: 504, proxyError: "connection_read_timeout", timeout: true, detail: "The upstream server stopped sending data in time."},
	CauseTLSProtocolError:      {status: 502, proxyError: "tls_protocol_error", detail: "A secure connection to the upstream server could not be established."},
	CauseTLSCertificateError:   {status: 502, proxyError: "tls_certificate_error", detail: "The upstream server's certificate could not be verified."},
	CauseHTTPResponseTimeout:   {status: 504, proxyError: "http_response_timeout", timeout: true, detail: "The upstream server did not respond in time."},
	CauseHTTPProtocolError:     {status: 502, proxyError: "http_protocol_error", detail: "The upstream server sent an invalid response."},
	CauseDestinationUnavail:    {status: 503, proxyError: "destination_unavailable", detail: "No upstream server is available to handle the request."},
	CauseMaintenance:           {status: 503, proxyError: "destination_unavailable", detail: "The service is down for planned maintenance."},
	// a replaced response says received-status instead of an error
	CauseHTTPResponseStatus: {status: 502, detail: "The upstream server could not complete the request."},
	// 502 like every failure that is not a timeout or unavailability (the
	// status table): the client cannot tell a proxy that failed to send
	// from one that got no usable answer, and a 500 would suggest the
	// site's own code failed; the cause and detail say what happened
	CauseProxyInternalError: {status: 502, proxyError: "proxy_internal_error", detail: "The proxy could not send the request to the upstream server."},
	// reverse_proxy failed in a way the module does not recognize; what
	// it knows is that the proxy produced the error
	CauseUpstreamError: {status: 502, proxyError: "proxy_internal_error", detail: "The upstream server could not complete the request."},
}

// CauseCodes returns the cause codes a response can be normalized for,
// sorted.
func CauseCodes() []string {
	return slices.Sorted(maps.Keys(causes))
}
