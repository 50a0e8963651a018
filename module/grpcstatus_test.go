package upstreamerrors

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc/codes"
)

func TestIsGRPC(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/grpc":                true,
		"application/grpc+proto":          true,
		"application/grpc+json":           true,
		"application/grpc+thrift":         true,
		"Application/GRPC":                true,
		"application/grpc; charset=utf-8": true,
		"application/grpc-web":            false,
		"application/grpc-web+proto":      false,
		"application/grpc-web-text":       false,
		"application/grpcx":               false,
		"application/json":                false,
		"application/gr":                  false,
		"":                                false,
	} {
		t.Run(fmt.Sprintf("%q", ct), func(t *testing.T) {
			r, _ := http.NewRequest("POST", "/", nil)
			if ct != "" {
				r.Header.Set("Content-Type", ct)
			}
			if got := isGRPC(r); got != want {
				t.Errorf("isGRPC(%q) = %v, want %v", ct, got, want)
			}
		})
	}
}

func TestGRPCCode(t *testing.T) {
	for _, tc := range []struct {
		cause  string
		status int
		want   codes.Code
	}{
		// gRPC's HTTP-to-status mapping
		{causeConnectionRefused, 502, codes.Unavailable},
		{causeDestinationUnavail, 503, codes.Unavailable},
		{causeHTTPResponseStatus, 504, codes.Unavailable},
		{causeHTTPResponseStatus, 500, codes.Unknown},
		{causeConnectionRefused, 400, codes.Internal},
		{causeHTTPResponseStatus, 401, codes.Unauthenticated},
		{causeHTTPResponseStatus, 403, codes.PermissionDenied},
		{causeHTTPResponseStatus, 404, codes.Unimplemented},
		{causeHTTPResponseStatus, 429, codes.Unavailable},
		// the request never reached an upstream: safe to retry
		{causeConnectionTimeout, 504, codes.Unavailable},
		{causeDNSTimeout, 504, codes.Unavailable},
		// the upstream may have acted on it, whatever status_map says
		{causeHTTPResponseTimeout, 504, codes.DeadlineExceeded},
		{causeHTTPResponseTimeout, 502, codes.DeadlineExceeded},
		{causeConnectionReadTimeout, 504, codes.DeadlineExceeded},
	} {
		t.Run(fmt.Sprint(tc.cause, " ", tc.status), func(t *testing.T) {
			if got := grpcCode(failure{cause: tc.cause, status: tc.status}); got != tc.want {
				t.Errorf("grpcCode(%s, %d) = %v, want %v", tc.cause, tc.status, got, tc.want)
			}
		})
	}
}

func TestGRPCCodeNames(t *testing.T) {
	for c := codes.OK; c <= codes.Unauthenticated; c++ {
		// codes.Code's own String is CamelCase; the wire names are its
		// upper snake case
		want := strings.ToUpper(c.String())
		if got := strings.ReplaceAll(grpcCodeName(c), "_", ""); got != strings.ReplaceAll(want, "CANCELED", "CANCELLED") {
			t.Errorf("grpcCodeName(%d) = %q, want %q", c, grpcCodeName(c), want)
		}
	}
	if got := grpcCodeName(99); got != "99" {
		t.Errorf("unknown code name = %q", got)
	}
}

// decodeGRPCMessage undoes percent-encoding as PROTOCOL-HTTP2.md describes.
func decodeGRPCMessage(t *testing.T, s string) string {
	t.Helper()
	var b []byte
	for i := 0; i < len(s); i++ {
		if s[i] != '%' {
			b = append(b, s[i])
			continue
		}
		if i+2 >= len(s) {
			t.Fatalf("truncated escape in %q", s)
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			t.Fatalf("bad escape in %q", s)
		}
		b = append(b, byte(n))
		i += 2
	}
	return string(b)
}

func TestEncodeGRPCMessage(t *testing.T) {
	for in, want := range map[string]string{
		"":                  "",
		"plain text, fine.": "plain text, fine.",
		"100%":              "100%25",
		"line\nbreak\t":     "line%0Abreak%09",
		"\x7f":              "%7F",
		"café":              "caf%C3%A9",
		"日本":                "%E6%97%A5%E6%9C%AC",
		"bad\xffbyte":       "bad%EF%BF%BDbyte",
	} {
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
			if got := encodeGRPCMessage(in); got != want {
				t.Errorf("encodeGRPCMessage(%q) = %q, want %q", in, got, want)
			}
		})
	}
	for _, in := range []string{"The upstream server refused the connection.", "% %% %zz", "ünïcödé\r\n😀", "~ !\"#$&'()*+,-./:;<=>?@[\\]^_`{|}"} {
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
			out := encodeGRPCMessage(in)
			for i := 0; i < len(out); i++ {
				if out[i] < ' ' || out[i] > '~' {
					t.Errorf("encodeGRPCMessage(%q) = %q: byte %#x is not printable ASCII", in, out, out[i])
				}
			}
			if !utf8.ValidString(in) {
				return
			}
			if got := decodeGRPCMessage(t, out); got != in {
				t.Errorf("decode(encode(%q)) = %q", in, got)
			}
		})
	}
}
