package upstreamerrors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/textproto"
	"reflect"
	"strings"
	"syscall"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// Messages of errors that reverse_proxy and net/http create with
// unexported types; their text is the only stable handle on them.
const (
	msgNoUpstreams  = "no upstreams available"
	msgRetryMatch   = "upstream response matched retry_match"
	msgMalformed    = "malformed HTTP"
	msgHeaderTooBig = "server response headers exceeded"
)

// classify names the cause of a proxy error. ok is false when err does not
// look like an upstream failure at all (a configuration or request problem
// of another handler), which the module then leaves alone.
func classify(err error) (cause string, ok bool) {
	if err == nil {
		return "", false
	}
	err = unwrapDialError(err)

	if errors.Is(err, context.Canceled) {
		return CauseClientCanceled, true
	}

	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsTimeout {
			return CauseDNSTimeout, true
		}
		return CauseDNSError, true
	}

	var opErr *net.OpError
	isOpErr := errors.As(err, &opErr)

	// TLS errors come before the generic network checks because a
	// handshake failure may wrap a reset or EOF from the server.
	if c, ok := classifyTLS(err); ok {
		return c, true
	}

	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		switch {
		case isOpErr && opErr.Op == "dial":
			return CauseConnectionTimeout, true
		case isOpErr && opErr.Op == "read":
			return CauseConnectionReadTimeout, true
		default:
			return CauseHTTPResponseTimeout, true
		}
	}

	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return CauseConnectionRefused, true
	case isOpErr && opErr.Op == "dial":
		// unreachable host, no route, address in use: the connection
		// could not be made, which is what a refusal tells the client too
		return CauseConnectionRefused, true
	case errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed):
		return CauseConnectionTerminated, true
	}

	var protoErr textproto.ProtocolError
	msg := err.Error()
	switch {
	case errors.As(err, &protoErr),
		strings.Contains(msg, msgMalformed),
		strings.Contains(msg, msgHeaderTooBig),
		strings.Contains(msg, "invalid header"),
		strings.Contains(msg, "Content-Length"),
		strings.Contains(msg, "Transfer-Encoding"),
		strings.Contains(msg, "unsupported transfer encoding"):
		return CauseHTTPProtocolError, true
	case strings.Contains(msg, msgNoUpstreams):
		return CauseDestinationUnavail, true
	case strings.Contains(msg, msgRetryMatch):
		return CauseHTTPResponseStatus, true
	case strings.Contains(msg, "connection reset"), strings.Contains(msg, "broken pipe"):
		return CauseConnectionTerminated, true
	}
	if isOpErr {
		return CauseConnectionTerminated, true
	}
	return CauseUpstreamError, false
}

// classifyTLS recognizes handshake and certificate failures.
func classifyTLS(err error) (string, bool) {
	var (
		certErr    *tls.CertificateVerificationError
		unknownCA  x509.UnknownAuthorityError
		hostErr    x509.HostnameError
		invalidErr x509.CertificateInvalidError
	)
	if errors.As(err, &certErr) || errors.As(err, &unknownCA) ||
		errors.As(err, &hostErr) || errors.As(err, &invalidErr) {
		return CauseTLSCertificateError, true
	}
	var (
		recErr   tls.RecordHeaderError
		alertErr tls.AlertError
	)
	if errors.As(err, &recErr) || errors.As(err, &alertErr) {
		return CauseTLSProtocolError, true
	}
	if strings.HasPrefix(err.Error(), "tls: ") || strings.Contains(err.Error(), "remote error: tls") {
		return CauseTLSProtocolError, true
	}
	return "", false
}

// unwrapDialError returns the error inside a reverseproxy.DialError. The
// marker type embeds the error without an Unwrap method, which hides a
// dial timeout from errors.As (and is why stock Caddy answers 502 for it);
// its only field is the wrapped error, read here through reflection.
func unwrapDialError(err error) error {
	var de reverseproxy.DialError
	if !errors.As(err, &de) {
		return err
	}
	v := reflect.ValueOf(&de).Elem()
	if v.NumField() != 1 || v.Field(0).Type() != reflect.TypeFor[error]() {
		return err
	}
	f := v.Field(0)
	inner, _ := reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem().Interface().(error)
	if inner == nil {
		return err
	}
	return inner
}
