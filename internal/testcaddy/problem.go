package testcaddy

// Problem is the module's problem+json body, decoded.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	Cause     string `json:"cause"`
	RequestID string `json:"request_id"`
}

// Details is the problem detail the README promises for each cause,
// written out here so a changed or swapped sentence fails a test.
var Details = map[string]string{
	"dns_error":               "The upstream server's address could not be resolved.",
	"dns_timeout":             "Resolving the upstream server's address timed out.",
	"connection_refused":      "The upstream server refused the connection.",
	"connection_timeout":      "The upstream server could not be reached in time.",
	"connection_terminated":   "The upstream server closed the connection without a complete response.",
	"connection_read_timeout": "The upstream server stopped sending data in time.",
	"tls_protocol_error":      "A secure connection to the upstream server could not be established.",
	"tls_certificate_error":   "The upstream server's certificate could not be verified.",
	"http_response_timeout":   "The upstream server did not respond in time.",
	"http_protocol_error":     "The upstream server sent an invalid response.",
	"destination_unavailable": "No upstream server is available to handle the request.",
	"destination_overloaded":  "The upstream server is overloaded and could not accept the connection.",
	"proxy_internal_error":    "The proxy could not send the request to the upstream server.",
	"http_response_status":    "The upstream server could not complete the request.",
	"upstream_error":          "The upstream server could not complete the request.",
	"maintenance":             "The service is down for planned maintenance.",
}

// StatusDetails is the detail for an upstream status answered as is,
// which says more than the http_response_status sentence.
var StatusDetails = map[int]string{
	503: "The upstream server is temporarily unavailable, overloaded or in maintenance.",
	504: "The upstream server did not answer in time.",
}

// Detail returns the expected detail for a response of status for cause,
// with upstreamStatus the upstream's status (0 when it sent none).
func Detail(cause string, status, upstreamStatus int) string {
	if status >= 400 && status < 500 {
		return ClientDetails[status]
	}
	switch cause {
	case "http_request_denied", "http_request_error", "proxy_internal_response":
		return LocalServerDetails[status]
	}
	if upstreamStatus != 0 && upstreamStatus == status {
		if d, ok := StatusDetails[status]; ok {
			return d
		}
	}
	return Details[cause]
}
