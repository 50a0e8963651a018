package upstreamerrors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/textproto"
	"os"
	"strings"
	"syscall"
)

// Texts of errors that net/http and reverse_proxy create with unexported
// types or fmt.Errorf; their text is the only handle on them. Each names
// where it comes from (Go 1.26 net/http, Caddy v2.11.9 reverseproxy).
const (
	// reverseproxy.go: errNoUpstream, returned when no upstream is
	// available (all unhealthy, or all at max_requests).
	msgNoUpstreams = "no upstreams available"
	// reverseproxy.go (*Handler).reverseProxy: the retryableResponseError
	// of a response that matched lb_retry_match when retries ran out.
	msgRetryMatch = "upstream response matched retry_match"

	// Errors reading the upstream's response.

	// response.go ReadResponse: badStringError("malformed HTTP response",
	// "malformed HTTP status code", "malformed HTTP version").
	msgMalformed = "malformed HTTP"
	// transport.go (*persistConn).readResponse: "net/http: server response
	// headers exceeded %d bytes; aborted".
	msgHeaderTooBig = "server response headers exceeded"
	// transfer.go parseContentLength ("bad Content-Length", "invalid empty
	// Content-Length") and fixLength ("http: message cannot contain
	// multiple Content-Length headers").
	msgContentLength = "Content-Length"
	// transfer.go parseTransferEncoding: unsupportedTEError, "too many
	// transfer encodings" and "unsupported transfer encoding".
	msgTransferEncoding = "transfer encoding"
	// h2_bundle.go http2headerFieldNameError / http2headerFieldValueError
	// ("invalid header field name/value for %q"): a response header an
	// HTTP/2 upstream sent, reported inside a stream error.
	msgH2InvalidHeader = "invalid header field"
	// h2_bundle.go (*http2ClientConn).handleResponse: "malformed response
	// from server: missing/malformed ... status pseudo header".
	msgH2Malformed = "malformed response from server"

	// Errors of the outgoing request, which is never sent: the proxy's
	// own fault, typically a header_up value built from request data.

	// transport.go (*Transport).roundTrip: validateHeaders on the request
	// headers and trailers, "net/http: invalid header field value for %q".
	msgOutgoingHeader  = "net/http: invalid header "
	msgOutgoingTrailer = "net/http: invalid trailer "
	// transport.go (*Transport).roundTrip: "net/http: invalid method %q".
	msgOutgoingMethod = "net/http: invalid method "
	// internal/httpcommon EncodeHeaders (HTTP/2 and HTTP/3 requests):
	// "invalid HTTP header %s", "invalid HTTP trailer %s".
	msgOutgoingH2Header  = "invalid HTTP header "
	msgOutgoingH2Trailer = "invalid HTTP trailer "

	// net.OpError texts of a reset or closed peer whose errno was lost on
	// the way (syscall.ECONNRESET and EPIPE's Error()).
	msgConnReset  = "connection reset"
	msgBrokenPipe = "broken pipe"
)

// classifyText names the cause of a proxy error. ok is false when err
// does not look like an upstream failure at all (a configuration or
// request problem of another handler), which the module then leaves
// alone. It also returns err's message, which it reads anyway, so the log
// need not build it again.
func classifyText(err error) (cause string, ok bool, msg string) {
	if err == nil {
		return "", false, ""
	}
	err = unwrapDialError(err)
	// the message is read once: building it costs allocations every time
	msg = err.Error()

	// the most common failure first, before the walks of the checks below
	if refusedDial(err) && !tlsText(msg) {
		return causeConnectionRefused, true, msg
	}

	if errors.Is(err, context.Canceled) {
		return causeClientCanceled, true, msg
	}

	if dnsErr, ok := errors.AsType[*net.DNSError](err); ok {
		if dnsErr.IsTimeout {
			return causeDNSTimeout, true, msg
		}
		return causeDNSError, true, msg
	}

	opErr, isOpErr := errors.AsType[*net.OpError](err)

	// TLS errors come before the generic network checks because a
	// handshake failure may wrap a reset or EOF from the server.
	if c, ok := classifyTLS(err, msg); ok {
		return c, true, msg
	}

	// a full accept queue on a unix socket fails the dial at once with
	// EAGAIN (unix_stream_connect in Linux), which syscall.Errno reports
	// as a timeout: it is overload. On TCP the kernel drops the SYN
	// instead, and the dial times out.
	if isOpErr && opErr.Op == "dial" && strings.HasPrefix(opErr.Net, "unix") && errors.Is(err, syscall.EAGAIN) {
		return causeDestinationOverloaded, true, msg
	}

	if netErr, ok := errors.AsType[net.Error](err); ok && netErr.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		switch {
		case isOpErr && opErr.Op == "dial":
			return causeConnectionTimeout, true, msg
		case isOpErr && opErr.Op == "read":
			return causeConnectionReadTimeout, true, msg
		default:
			return causeHTTPResponseTimeout, true, msg
		}
	}

	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return causeConnectionRefused, true, msg
	case isOpErr && opErr.Op == "dial":
		// unreachable host, no route, address in use: the connection
		// could not be made, which is what a refusal tells the client too
		return causeConnectionRefused, true, msg
	case errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed):
		return causeConnectionTerminated, true, msg
	}

	switch {
	case strings.Contains(msg, msgOutgoingHeader),
		strings.Contains(msg, msgOutgoingTrailer),
		strings.Contains(msg, msgOutgoingMethod),
		strings.Contains(msg, msgOutgoingH2Header),
		strings.Contains(msg, msgOutgoingH2Trailer):
		return causeProxyInternalError, true, msg
	case isProtocolError(err),
		strings.Contains(msg, msgMalformed),
		strings.Contains(msg, msgHeaderTooBig),
		strings.Contains(msg, msgContentLength),
		strings.Contains(msg, msgTransferEncoding),
		strings.Contains(msg, msgH2InvalidHeader),
		strings.Contains(msg, msgH2Malformed):
		return causeHTTPProtocolError, true, msg
	case strings.Contains(msg, msgNoUpstreams):
		return causeDestinationUnavail, true, msg
	case strings.Contains(msg, msgRetryMatch):
		return causeHTTPResponseStatus, true, msg
	case strings.Contains(msg, msgConnReset), strings.Contains(msg, msgBrokenPipe):
		return causeConnectionTerminated, true, msg
	}
	if isOpErr {
		return causeConnectionTerminated, true, msg
	}
	return causeUpstreamError, false, msg
}

// refusedDial reports whether err is exactly what a dial to a port
// nobody listens on returns: a "dial" *net.OpError around the connect
// *os.SyscallError with ECONNREFUSED. That chain holds no cancellation,
// DNS, TLS or timeout error, so unless its text reads as TLS's (a unix
// socket's path can say anything), the checks in classifyText find a
// refusal too: this only skips their walks through the chain.
func refusedDial(err error) bool {
	op, ok := err.(*net.OpError)
	if !ok || op.Op != "dial" {
		return false
	}
	sc, ok := op.Err.(*os.SyscallError)
	return ok && sc.Err == syscall.ECONNREFUSED
}

// classifyTLS recognizes handshake and certificate failures.
func classifyTLS(err error, msg string) (string, bool) {
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return causeTLSCertificateError, true
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return causeTLSCertificateError, true
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return causeTLSCertificateError, true
	}
	if _, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return causeTLSCertificateError, true
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return causeTLSProtocolError, true
	}
	if _, ok := errors.AsType[tls.AlertError](err); ok {
		return causeTLSProtocolError, true
	}
	if tlsText(msg) {
		return causeTLSProtocolError, true
	}
	return "", false
}

// tlsText reports whether an error message is crypto/tls's.
func tlsText(msg string) bool {
	return strings.HasPrefix(msg, "tls: ") || strings.Contains(msg, "remote error: tls")
}

// isProtocolError reports whether err holds a textproto.ProtocolError.
func isProtocolError(err error) bool {
	_, ok := errors.AsType[textproto.ProtocolError](err)
	return ok
}
