package upstreamerrors

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	dial := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	read := func(err error) error { return &net.OpError{Op: "read", Net: "tcp", Err: err} }
	for _, tc := range []struct {
		err   error
		cause string
		ok    bool
	}{
		{reverseproxy.NewDialError(dial(&os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED})), causeConnectionRefused, true},
		{reverseproxy.NewDialError(dial(timeoutError{})), causeConnectionTimeout, true},
		{caddyhttp.Error(502, reverseproxy.NewDialError(dial(timeoutError{}))), causeConnectionTimeout, true},
		{reverseproxy.NewDialError(dial(&net.DNSError{Err: "no such host", Name: "legacy", IsNotFound: true})), causeDNSError, true},
		{reverseproxy.NewDialError(dial(&net.DNSError{Err: "timeout", Name: "legacy", IsTimeout: true})), causeDNSTimeout, true},
		{reverseproxy.NewDialError(dial(syscall.EHOSTUNREACH)), causeConnectionRefused, true},
		{read(timeoutError{}), causeConnectionReadTimeout, true},
		{timeoutError{}, causeHTTPResponseTimeout, true},
		{context.DeadlineExceeded, causeHTTPResponseTimeout, true},
		{read(syscall.ECONNRESET), causeConnectionTerminated, true},
		{io.EOF, causeConnectionTerminated, true},
		{fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", io.ErrUnexpectedEOF), causeConnectionTerminated, true},
		{errors.New(`net/http: HTTP/1.x transport connection broken: malformed HTTP response "SSH-2.0"`), causeHTTPProtocolError, true},
		{errors.New("net/http: server response headers exceeded 1048576 bytes; aborted"), causeHTTPProtocolError, true},
		{tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, causeTLSProtocolError, true},
		{&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}, causeTLSCertificateError, true},
		{tls.AlertError(40), causeTLSProtocolError, true},
		{caddyhttp.Error(503, errors.New("no upstreams available")), causeDestinationUnavail, true},
		{caddyhttp.Error(500, errors.New("upstream response matched retry_match (status 500)")), causeHTTPResponseStatus, true},
		{context.Canceled, causeClientCanceled, true},
		{errors.New("making dial info: bad placeholder"), causeUpstreamError, false},
		{reverseproxy.NewDialError(&net.OpError{Op: "dial", Net: "unix", Err: &os.SyscallError{Syscall: "connect", Err: syscall.EAGAIN}}), causeDestinationOverloaded, true},
		{caddyhttp.Error(502, reverseproxy.NewDialError(&net.OpError{Op: "dial", Net: "unix", Err: &os.SyscallError{Syscall: "connect", Err: syscall.EAGAIN}})), causeDestinationOverloaded, true},
		{reverseproxy.NewDialError(&net.OpError{Op: "dial", Net: "unix", Err: timeoutError{}}), causeConnectionTimeout, true},
		{caddyhttp.Error(502, errors.New(`net/http: invalid header field value for "X-In"`)), causeProxyInternalError, true},
		{errors.New(`net/http: invalid header field name "X In"`), causeProxyInternalError, true},
		{errors.New(`net/http: invalid trailer field value for "X-T"`), causeProxyInternalError, true},
		{errors.New(`net/http: invalid method "G T"`), causeProxyInternalError, true},
		{errors.New(`invalid HTTP header field value for "X-In"`), causeProxyInternalError, true},
		{errors.New(`stream error: stream ID 1; PROTOCOL_ERROR; invalid header field value for "x"`), causeHTTPProtocolError, true},
		{errors.New(`malformed response from server: missing status pseudo header`), causeHTTPProtocolError, true},
		{errors.New(`net/http: HTTP/1.x transport connection broken: unsupported transfer encoding: "gzip"`), causeHTTPProtocolError, true},
		{errors.New(`net/http: HTTP/1.x transport connection broken: too many transfer encodings: ["chunked" "chunked"]`), causeHTTPProtocolError, true},
		{errors.New(`net/http: HTTP/1.x transport connection broken: bad Content-Length "x"`), causeHTTPProtocolError, true},
	} {
		t.Run(tc.cause, func(t *testing.T) {
			cause, ok := classify(tc.err)
			if cause != tc.cause || ok != tc.ok {
				t.Errorf("classify(%v) = %s, %v; want %s, %v", tc.err, cause, ok, tc.cause, tc.ok)
			}
		})
	}
}

func TestEveryCauseHasADetail(t *testing.T) {
	for _, c := range causeCodes() {
		info := causes[c]
		if info.Detail == "" || !isServerError(info.Status) {
			t.Errorf("%s: %+v", c, info)
		}
	}
}

// TestRefusedDialFastPath checks the shape refusedDial takes past the
// other checks, and that classify gives each such error the cause its
// full walk gives the same chain behind a wrapper refusedDial ignores.
func TestRefusedDialFastPath(t *testing.T) {
	refused := func(network string, addr net.Addr) *net.OpError {
		return &net.OpError{Op: "dial", Net: network, Addr: addr, Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}
	}
	for _, tc := range []struct {
		name string
		err  error
		fast bool
	}{
		{"tcp", refused("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}), true},
		{"unix", refused("unix", &net.UnixAddr{Name: "/run/app.sock", Net: "unix"}), true},
		// the full walk reads this message as TLS's; so must classify
		{"unix path reading as tls", refused("unix", &net.UnixAddr{Name: "/tmp/remote error: tls", Net: "unix"}), true},
		{"no address", refused("tcp", nil), true},
		{"read", &net.OpError{Op: "read", Net: "tcp", Err: &os.SyscallError{Syscall: "read", Err: syscall.ECONNREFUSED}}, false},
		{"reset", &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNRESET}}, false},
		{"bare errno", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, false},
		{"errno", syscall.ECONNREFUSED, false},
		{"wrapped", fmt.Errorf("proxy: %w", refused("tcp", nil)), false},
		{"timeout", &net.OpError{Op: "dial", Net: "tcp", Err: timeoutError{}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := refusedDial(tc.err); got != tc.fast {
				t.Fatalf("refusedDial = %v, want %v", got, tc.fast)
			}
			if !tc.fast {
				return
			}
			cause, ok := classify(tc.err)
			slow, slowOK := classify(fmt.Errorf("behind a wrapper: %w", tc.err))
			if cause != slow || ok != slowOK {
				t.Errorf("classify = %s %v; the full walk gives %s %v", cause, ok, slow, slowOK)
			}
		})
	}
}

// classify is classifyText without the message.
func classify(err error) (cause string, ok bool) {
	cause, ok, _ = classifyText(err)
	return cause, ok
}
