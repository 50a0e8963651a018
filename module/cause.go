package upstreamerrors

// Cause codes name why a response was normalized. They are shared by the
// problem body, the log entry, the placeholders and (where RFC 9209 defines
// the same condition) the Proxy-Status error type, so every signal speaks
// one taxonomy.
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

	// Causes that are logged but never answered: the client is gone, or
	// the response headers were already on the wire.
	CauseClientCanceled         = "client_canceled"
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
}

// causes lists every cause a response can be normalized for.
var causes = map[string]causeInfo{
	CauseDNSError:              {status: 502, detail: "The upstream server's address could not be resolved."},
	CauseDNSTimeout:            {status: 504, timeout: true, detail: "Resolving the upstream server's address timed out."},
	CauseConnectionRefused:     {status: 502, detail: "The upstream server refused the connection."},
	CauseConnectionTimeout:     {status: 504, timeout: true, detail: "The upstream server could not be reached in time."},
	CauseConnectionTerminated:  {status: 502, detail: "The upstream server closed the connection without a complete response."},
	CauseConnectionReadTimeout: {status: 504, timeout: true, detail: "The upstream server stopped sending data in time."},
	CauseTLSProtocolError:      {status: 502, detail: "A secure connection to the upstream server could not be established."},
	CauseTLSCertificateError:   {status: 502, detail: "The upstream server's certificate could not be verified."},
	CauseHTTPResponseTimeout:   {status: 504, timeout: true, detail: "The upstream server did not respond in time."},
	CauseHTTPProtocolError:     {status: 502, detail: "The upstream server sent an invalid response."},
	CauseDestinationUnavail:    {status: 503, detail: "No upstream server is available to handle the request."},
	CauseHTTPResponseStatus:    {status: 502, detail: "The upstream server could not complete the request."},
	CauseUpstreamError:         {status: 502, detail: "The upstream server could not complete the request."},
}

// CauseCodes returns the cause codes a response can be normalized for.
func CauseCodes() []string {
	out := make([]string, 0, len(causes))
	for c := range causes {
		out = append(out, c)
	}
	return out
}
