package testcaddy

import "github.com/caddy-upstream-errors/caddy-upstream-errors/internal/taxonomy"

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

// Details is the problem detail of each cause that has one, read from
// the cause table.
var Details = func() map[string]string {
	m := map[string]string{}
	for _, c := range taxonomy.Table {
		if c.Detail != "" {
			m[c.Name] = c.Detail
		}
	}
	return m
}()

// StatusDetails is the detail for an upstream status answered as is,
// which says more than the http_response_status sentence.
var StatusDetails = taxonomy.KeptStatusDetails

// Detail returns the expected detail for a response of status for cause,
// with upstreamStatus the upstream's status (0 when it sent none).
func Detail(cause string, status, upstreamStatus int) string {
	local := cause == taxonomy.HTTPRequestDenied || cause == taxonomy.HTTPRequestError || cause == taxonomy.ProxyInternalResponse
	return taxonomy.Detail(cause, status, upstreamStatus, local)
}
