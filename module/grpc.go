package upstreamerrors

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/grpc/codes"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/taxonomy"
)

// gRPC clients cannot read an HTTP error page: a gRPC request is answered
// in gRPC's own terms instead, as a trailers-only response (PROTOCOL-HTTP2.md):
// HTTP 200 and one header block with content-type application/grpc,
// grpc-status and grpc-message, and no body. Over HTTP/2 that is a single
// HEADERS frame ending the stream. An upstream gRPC server reports its own
// errors with HTTP 200 and grpc-status; those are never intercepted and
// pass through untouched.
//
// gRPC-Web (application/grpc-web, application/grpc-web-text) is left as
// plain HTTP: its clients map a 502, 503 or 504 to UNAVAILABLE themselves,
// and a browser only sees grpc-status when CORS exposes it, which is the
// gRPC-Web proxy's job.

// grpcContentType is the content type of a gRPC answer.
const grpcContentType = "application/grpc"

// isGRPC reports whether r is a gRPC request: its content type is
// application/grpc, optionally with a +codec suffix (+proto, +json, ...).
func isGRPC(r *http.Request) bool {
	ct := r.Header.Get("Content-Type")
	if len(ct) < len(grpcContentType) || !strings.EqualFold(ct[:len(grpcContentType)], grpcContentType) {
		return false
	}
	rest := ct[len(grpcContentType):]
	return rest == "" || rest[0] == '+' || rest[0] == ';'
}

// grpcCode returns the gRPC status a failure is answered with.
//
// A timeout after the request was sent (no response headers in time, or
// the upstream stopped sending) is DEADLINE_EXCEEDED, as Envoy answers an
// upstream timeout: the upstream may have acted on the request, so the
// client must not treat it as safe to retry. Everything else follows gRPC's
// HTTP-to-status mapping of the response status; 502, 503 and 504 are
// UNAVAILABLE, which gRPC clients may retry. That includes a connect or DNS
// timeout, where the request never reached an upstream.
func grpcCode(f failure) codes.Code {
	return taxonomy.GRPCCode(f.cause, f.status)
}

// grpcCodeNames are the gRPC status names, as rpc.response.status_code
// carries them.
var grpcCodeNames = [...]string{
	codes.OK:                 "OK",
	codes.Canceled:           "CANCELLED",
	codes.Unknown:            "UNKNOWN",
	codes.InvalidArgument:    "INVALID_ARGUMENT",
	codes.DeadlineExceeded:   "DEADLINE_EXCEEDED",
	codes.NotFound:           "NOT_FOUND",
	codes.AlreadyExists:      "ALREADY_EXISTS",
	codes.PermissionDenied:   "PERMISSION_DENIED",
	codes.ResourceExhausted:  "RESOURCE_EXHAUSTED",
	codes.FailedPrecondition: "FAILED_PRECONDITION",
	codes.Aborted:            "ABORTED",
	codes.OutOfRange:         "OUT_OF_RANGE",
	codes.Unimplemented:      "UNIMPLEMENTED",
	codes.Internal:           "INTERNAL",
	codes.Unavailable:        "UNAVAILABLE",
	codes.DataLoss:           "DATA_LOSS",
	codes.Unauthenticated:    "UNAUTHENTICATED",
}

// grpcCodeName returns c's canonical name.
func grpcCodeName(c codes.Code) string {
	if int(c) < len(grpcCodeNames) {
		return grpcCodeNames[c]
	}
	return strconv.Itoa(int(c))
}

// respondGRPC writes f as a trailers-only gRPC response. The header
// fields respond has set (request ID, Proxy-Status, Retry-After) stay;
// those describing an HTTP body go.
func (h *Handler) respondGRPC(w http.ResponseWriter, f failure, v bodyValues) {
	hdr := w.Header()
	hdr.Del("Content-Length")
	hdr.Del("Vary")
	hdr.Del("X-Content-Type-Options")
	hdr.Set("Content-Type", grpcContentType)
	hdr.Set("Grpc-Status", strconv.Itoa(int(grpcCode(f))))
	hdr.Set("Grpc-Message", encodeGRPCMessage(v.Detail))
	w.WriteHeader(http.StatusOK)
}

// encodeGRPCMessage percent-encodes msg for grpc-message as
// PROTOCOL-HTTP2.md specifies: printable ASCII but '%' stays, every other
// byte of the UTF-8 text becomes %XX, and invalid UTF-8 becomes U+FFFD.
func encodeGRPCMessage(msg string) string {
	clean := true
	for i := 0; i < len(msg); i++ {
		if !grpcMessageSafe(msg[i]) {
			clean = false
			break
		}
	}
	if clean {
		return msg
	}
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	sb.Grow(len(msg) * 3)
	var buf [utf8.UTFMax]byte
	for len(msg) > 0 {
		r, size := utf8.DecodeRuneInString(msg)
		var b []byte
		if r == utf8.RuneError && size == 1 {
			b = utf8.AppendRune(buf[:0], utf8.RuneError)
		} else {
			b = append(buf[:0], msg[:size]...)
		}
		for _, c := range b {
			if size == 1 && grpcMessageSafe(c) {
				sb.WriteByte(c)
				continue
			}
			sb.WriteByte('%')
			sb.WriteByte(hex[c>>4])
			sb.WriteByte(hex[c&0xf])
		}
		msg = msg[size:]
	}
	return sb.String()
}

// grpcMessageSafe reports whether c is sent as is in grpc-message.
func grpcMessageSafe(c byte) bool {
	return c >= ' ' && c <= '~' && c != '%'
}
