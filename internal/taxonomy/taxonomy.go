// Package taxonomy is the one table of the causes upstream_errors answers
// and logs: for each, its class, default status, RFC 9209 Proxy-Status
// error type, gRPC code, problem detail and log level. The body, headers,
// log entry, metric, span and gRPC answer read it; so do the tests and
// the comparison with docs/reference.md's cause tables.
package taxonomy

import (
	"net/http"

	"go.uber.org/zap/zapcore"
	"google.golang.org/grpc/codes"
)

// Cause names, as the body's cause member, the log's cause field, the
// metric's cause label and the span's error.type carry them.
const (
	DNSError               = "dns_error"
	DNSTimeout             = "dns_timeout"
	ConnectionRefused      = "connection_refused"
	DestinationOverloaded  = "destination_overloaded"
	ConnectionTimeout      = "connection_timeout"
	ConnectionTerminated   = "connection_terminated"
	ConnectionReadTimeout  = "connection_read_timeout"
	TLSProtocolError       = "tls_protocol_error"
	TLSCertificateError    = "tls_certificate_error"
	HTTPResponseTimeout    = "http_response_timeout"
	HTTPProtocolError      = "http_protocol_error"
	DestinationUnavail     = "destination_unavailable"
	Maintenance            = "maintenance"
	HTTPResponseStatus     = "http_response_status"
	ProxyInternalError     = "proxy_internal_error"
	UpstreamError          = "upstream_error"
	HTTPResponseIncomplete = "http_response_incomplete"

	ClientCanceled       = "client_canceled"
	ClientDisconnected   = "client_disconnected"
	ClientBodyIncomplete = "client_body_incomplete"

	HTTPRequestDenied     = "http_request_denied"
	HTTPRequestError      = "http_request_error"
	ProxyInternalResponse = "proxy_internal_response"
)

// Class says whose doing a cause is, which decides the counter and the
// log message.
type Class string

const (
	// Upstream: reverse_proxy failed or an upstream answered an error;
	// counted in caddy_http_upstream_errors_total.
	Upstream Class = "upstream"
	// Client: the client left or cut its body short; counted in
	// caddy_http_upstream_errors_client_total, logged "client error".
	Client Class = "client"
	// Site: an error of the site's own handlers, in handle_errors;
	// logged "handler error".
	Site Class = "site"
)

// Cause is what the module does for one cause.
type Cause struct {
	Name  string
	Class Class
	// Status is the default response status; 0 for a cause that keeps
	// the status it has (an upstream's, the site's own) or is not
	// answered.
	Status int
	// Timeout puts the cause in status_map's "timeout" group.
	Timeout bool
	// ProxyError is the Proxy-Status error type; "" for a replaced
	// response (received-status instead) and causes never answered.
	ProxyError string
	// GRPC is the gRPC status code; codes.OK for one that follows
	// gRPC's HTTP-to-status mapping of the response status.
	GRPC codes.Code
	// Detail is the problem detail; "" for one chosen by status (see
	// Detail).
	Detail string
	// Level is the log entry's level (a 4xx answer is logged at INFO
	// whatever its cause).
	Level zapcore.Level
	// Answered is false for a cause only logged: nothing can be sent.
	Answered bool
}

// Table is every cause, in the order of docs/reference.md.
var Table = []Cause{
	{Name: ConnectionRefused, Class: Upstream, Status: 502, ProxyError: "connection_refused", Detail: "The upstream server refused the connection.", Level: zapcore.ErrorLevel, Answered: true},
	// refused at once because the accept queue is full (EAGAIN on a unix
	// socket); RFC 9209 has no overload type, so Proxy-Status says
	// connection_refused with the 503 of an overloaded server
	{Name: DestinationOverloaded, Class: Upstream, Status: 503, ProxyError: "connection_refused", Detail: "The upstream server is overloaded and could not accept the connection.", Level: zapcore.ErrorLevel, Answered: true},
	{Name: ConnectionTimeout, Class: Upstream, Status: 504, Timeout: true, ProxyError: "connection_timeout", Detail: "The upstream server could not be reached in time.", Level: zapcore.ErrorLevel, Answered: true},
	{Name: ConnectionTerminated, Class: Upstream, Status: 502, ProxyError: "connection_terminated", Detail: "The upstream server closed the connection without a complete response.", Level: zapcore.ErrorLevel, Answered: true},
	// a timeout after the request was sent is DEADLINE_EXCEEDED, as Envoy
	// answers it: the upstream may have acted on the request
	{Name: ConnectionReadTimeout, Class: Upstream, Status: 504, Timeout: true, ProxyError: "connection_read_timeout", GRPC: codes.DeadlineExceeded, Detail: "The upstream server stopped sending data in time.", Level: zapcore.ErrorLevel, Answered: true},
	{Name: DNSError, Class: Upstream, Status: 502, ProxyError: "dns_error", Detail: "The upstream server's address could not be resolved.", Level: zapcore.ErrorLevel, Answered: true},
	{Name: DNSTimeout, Class: Upstream, Status: 504, Timeout: true, ProxyError: "dns_timeout", Detail: "Resolving the upstream server's address timed out.", Level: zapcore.ErrorLevel, Answered: true},
	{Name: TLSProtocolError, Class: Upstream, Status: 502, ProxyError: "tls_protocol_error", Detail: "A secure connection to the upstream server could not be established.", Level: zapcore.ErrorLevel, Answered: true},
	{Name: TLSCertificateError, Class: Upstream, Status: 502, ProxyError: "tls_certificate_error", Detail: "The upstream server's certificate could not be verified.", Level: zapcore.ErrorLevel, Answered: true},
	{Name: HTTPResponseTimeout, Class: Upstream, Status: 504, Timeout: true, ProxyError: "http_response_timeout", GRPC: codes.DeadlineExceeded, Detail: "The upstream server did not respond in time.", Level: zapcore.ErrorLevel, Answered: true},
	{Name: HTTPProtocolError, Class: Upstream, Status: 502, ProxyError: "http_protocol_error", Detail: "The upstream server sent an invalid response.", Level: zapcore.ErrorLevel, Answered: true},
	{Name: DestinationUnavail, Class: Upstream, Status: 503, ProxyError: "destination_unavailable", Detail: "No upstream server is available to handle the request.", Level: zapcore.ErrorLevel, Answered: true},
	// unavailable by plan, which RFC 9209 calls destination_unavailable;
	// planned, so not logged as an error
	{Name: Maintenance, Class: Upstream, Status: 503, ProxyError: "destination_unavailable", Detail: "The service is down for planned maintenance.", Level: zapcore.InfoLevel, Answered: true},
	// a replaced response says received-status instead of an error
	{Name: HTTPResponseStatus, Class: Upstream, Status: 502, Detail: "The upstream server could not complete the request.", Level: zapcore.ErrorLevel, Answered: true},
	// 502 like every failure that is neither a timeout nor unavailability:
	// a 500 would suggest the site's own code failed. In handle_errors it
	// is also the cause of the site's own 500.
	{Name: ProxyInternalError, Class: Upstream, Status: 502, ProxyError: "proxy_internal_error", Detail: "The proxy could not send the request to the upstream server.", Level: zapcore.ErrorLevel, Answered: true},
	// reverse_proxy failed in a way the module does not recognize
	{Name: UpstreamError, Class: Upstream, Status: 502, ProxyError: "proxy_internal_error", Detail: "The upstream server could not complete the request.", Level: zapcore.ErrorLevel, Answered: true},
	// the upstream's body broke off after its head was sent: logged only
	{Name: HTTPResponseIncomplete, Class: Upstream, Level: zapcore.ErrorLevel},

	// the client left before the response; logged with status 499
	{Name: ClientCanceled, Class: Client, Level: zapcore.InfoLevel},
	// the client left mid-response: how SSE and downloads end, so DEBUG
	{Name: ClientDisconnected, Class: Client, Level: zapcore.DebugLevel},
	{Name: ClientBodyIncomplete, Class: Client, Status: 400, ProxyError: "http_request_error", Detail: "The request body ended before it was complete.", Level: zapcore.InfoLevel, Answered: true},

	// the site's own errors keep their status; each is its own type
	{Name: HTTPRequestDenied, Class: Site, ProxyError: HTTPRequestDenied, Level: zapcore.InfoLevel, Answered: true},
	{Name: HTTPRequestError, Class: Site, ProxyError: HTTPRequestError, Level: zapcore.InfoLevel, Answered: true},
	{Name: ProxyInternalResponse, Class: Site, ProxyError: ProxyInternalResponse, Level: zapcore.ErrorLevel, Answered: true},
}

var byName = func() map[string]*Cause {
	m := make(map[string]*Cause, len(Table))
	for i := range Table {
		m[Table[i].Name] = &Table[i]
	}
	return m
}()

// Lookup returns the cause called name.
func Lookup(name string) (Cause, bool) {
	c, ok := byName[name]
	if !ok {
		return Cause{}, false
	}
	return *c, true
}

// SiteCauses are the causes of the site's own errors in handle_errors:
// the Site class and proxy_internal_error for a 500.
var SiteCauses = []string{HTTPRequestDenied, HTTPRequestError, ProxyInternalError, ProxyInternalResponse}

// ClientDetails are the problem details of 4xx responses, whether an
// upstream's replaced page or an error of the site's own handlers. They
// say what the status means and nothing about the request.
var ClientDetails = map[int]string{
	http.StatusBadRequest:                   "The request is malformed or invalid.",
	http.StatusUnauthorized:                 "Authentication is required to access this resource.",
	http.StatusPaymentRequired:              "Payment is required to access this resource.",
	http.StatusForbidden:                    "Access to this resource is not allowed.",
	http.StatusNotFound:                     "There is no such resource.",
	http.StatusMethodNotAllowed:             "The request method is not supported for this resource.",
	http.StatusNotAcceptable:                "The resource has no representation the client accepts.",
	http.StatusProxyAuthRequired:            "Authentication with the proxy is required.",
	http.StatusRequestTimeout:               "The server timed out waiting for the request.",
	http.StatusConflict:                     "The request conflicts with the resource's current state.",
	http.StatusGone:                         "The resource is gone and will not be available again.",
	http.StatusLengthRequired:               "The request must state its content length.",
	http.StatusPreconditionFailed:           "A precondition of the request does not hold.",
	http.StatusRequestEntityTooLarge:        "The request content is larger than the server will process.",
	http.StatusRequestURITooLong:            "The request URI is longer than the server will process.",
	http.StatusUnsupportedMediaType:         "The request content is in a format the server does not support.",
	http.StatusRequestedRangeNotSatisfiable: "The requested range cannot be satisfied.",
	http.StatusExpectationFailed:            "The request's expectation cannot be met.",
	http.StatusMisdirectedRequest:           "The request was sent to a server that cannot answer for this host.",
	http.StatusUnprocessableEntity:          "The request is well-formed but semantically invalid.",
	http.StatusLocked:                       "The resource is locked.",
	http.StatusFailedDependency:             "The request failed because an action it depends on failed.",
	http.StatusTooEarly:                     "The server will not process a request that might be replayed.",
	http.StatusUpgradeRequired:              "The request must be sent over a different protocol.",
	http.StatusPreconditionRequired:         "The request must be conditional.",
	http.StatusTooManyRequests:              "Too many requests were sent; please slow down.",
	http.StatusRequestHeaderFieldsTooLarge:  "The request's header fields are too large.",
	http.StatusUnavailableForLegalReasons:   "The resource is unavailable for legal reasons.",
}

// ClientDetail is the detail of a 4xx without its own sentence.
const ClientDetail = "The request could not be processed."

// SiteDetails are the details of 5xx errors the site answers by itself;
// unlike the upstream sentences they blame no upstream server.
var SiteDetails = map[int]string{
	http.StatusInternalServerError:     "The server failed to complete the request.",
	http.StatusNotImplemented:          "The server does not support what the request needs.",
	http.StatusBadGateway:              "The server could not get a valid response to complete the request.",
	http.StatusServiceUnavailable:      "The service is temporarily unavailable, overloaded or in maintenance.",
	http.StatusGatewayTimeout:          "The server could not get a response in time.",
	http.StatusHTTPVersionNotSupported: "The request's HTTP version is not supported.",
	http.StatusInsufficientStorage:     "The server cannot store what the request needs.",
}

// SiteDetail is the detail of a site's own 5xx without its own sentence.
const SiteDetail = "The server could not complete the request."

// KeptStatusDetails are the details for an upstream status answered as
// is: the sentence matches the status the client sees, where the cause's
// own sentence would be too vague.
var KeptStatusDetails = map[int]string{
	http.StatusServiceUnavailable: "The upstream server is temporarily unavailable, overloaded or in maintenance.",
	http.StatusGatewayTimeout:     "The upstream server did not answer in time.",
}

// Detail returns the problem detail of an answer with status for cause;
// local marks an error of the site's own handlers, upstreamStatus is the
// upstream's status (0 when it sent none).
func Detail(cause string, status, upstreamStatus int, local bool) string {
	if cause == ClientBodyIncomplete {
		return byName[cause].Detail
	}
	if status >= 400 && status <= 499 {
		return detailOr(ClientDetails, status, ClientDetail)
	}
	if local {
		return detailOr(SiteDetails, status, SiteDetail)
	}
	if upstreamStatus != 0 && upstreamStatus == status {
		if d, ok := KeptStatusDetails[status]; ok {
			return d
		}
	}
	if c, ok := byName[cause]; ok && c.Detail != "" {
		return c.Detail
	}
	return byName[UpstreamError].Detail
}

func detailOr(table map[int]string, status int, def string) string {
	if d, ok := table[status]; ok {
		return d
	}
	return def
}

// GRPCCode returns the gRPC status code of an answer with status for
// cause: the cause's own, or gRPC's HTTP-to-status mapping of the status
// (502, 503 and 504 are UNAVAILABLE, which clients may retry).
func GRPCCode(cause string, status int) codes.Code {
	if c, ok := byName[cause]; ok && c.GRPC != codes.OK {
		return c.GRPC
	}
	switch status {
	case http.StatusBadRequest:
		return codes.Internal
	case http.StatusUnauthorized:
		return codes.Unauthenticated
	case http.StatusForbidden:
		return codes.PermissionDenied
	case http.StatusNotFound:
		return codes.Unimplemented
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return codes.Unavailable
	}
	return codes.Unknown
}
