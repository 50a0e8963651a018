package upstreamerrors

import (
	"testing"

	"github.com/dunglas/httpsfv"
)

// rfc9209Errors are the error types RFC 9209 §2.3 registers.
var rfc9209Errors = map[string]bool{
	"dns_timeout": true, "dns_error": true, "destination_not_found": true, "destination_unavailable": true,
	"destination_ip_prohibited": true, "destination_ip_unroutable": true, "connection_refused": true,
	"connection_terminated": true, "connection_timeout": true, "connection_read_timeout": true,
	"connection_write_timeout": true, "connection_limit_reached": true, "tls_protocol_error": true,
	"tls_certificate_error": true, "tls_alert_received": true, "http_request_error": true,
	"http_request_denied": true, "http_response_incomplete": true, "http_response_header_section_size": true,
	"http_response_header_size": true, "http_response_body_size": true, "http_response_trailer_section_size": true,
	"http_response_trailer_size": true, "http_response_transfer_coding": true, "http_response_content_coding": true,
	"http_response_timeout": true, "http_upgrade_failed": true, "http_protocol_error": true,
	"proxy_internal_response": true, "proxy_internal_error": true, "proxy_configuration_error": true,
	"proxy_loop_detected": true,
}

// Every answered cause has one registered Proxy-Status error type, except
// a replaced response, which reports the status it received.
func TestEveryCauseHasAProxyStatusError(t *testing.T) {
	for c, info := range causes {
		if c == causeHTTPResponseStatus {
			if info.ProxyError != "" {
				t.Errorf("%s: error %q, want received-status only", c, info.ProxyError)
			}
			continue
		}
		if !rfc9209Errors[info.ProxyError] {
			t.Errorf("%s: Proxy-Status error %q is not an RFC 9209 type", c, info.ProxyError)
		}
	}
}

// The field parses as an RFC 8941 list of one member whose item is the
// configured name, whatever it holds, with the error type or received
// status as parameter.
func TestProxyStatusParses(t *testing.T) {
	for _, name := range []string{"caddy", "edge-1.example", "*proxy:8443/x", "my proxy", `a"b\c`, `\`, `"`, "1st", "a,b;c=d"} {
		t.Run(name, func(t *testing.T) {
			check := func(f failure, key string, want any) {
				t.Helper()
				v := proxyStatus(name, f)
				l, err := httpsfv.UnmarshalList([]string{v})
				if err != nil || len(l) != 1 {
					t.Fatalf("%q: %q does not parse as a one-member list: %v", name, v, err)
				}
				item := l[0].(httpsfv.Item)
				switch got := item.Value.(type) {
				case httpsfv.Token:
					if string(got) != name {
						t.Errorf("%q: name round-trips as token %q", name, got)
					}
				case string:
					if got != name {
						t.Errorf("%q: name round-trips as %q", name, got)
					}
				default:
					t.Errorf("%q: name is a %T", name, got)
				}
				if names := item.Params.Names(); len(names) != 1 || names[0] != key {
					t.Fatalf("%q: %q has parameters %v, want %s", name, v, names, key)
				}
				if got, _ := item.Params.Get(key); got != want {
					t.Errorf("%q: %s = %#v, want %#v", name, key, got, want)
				}
			}
			for c, info := range causes {
				if info.ProxyError != "" {
					check(failure{cause: c, status: info.Status}, "error", httpsfv.Token(info.ProxyError))
				}
			}
			for _, s := range []int{500, 502, 503, 504, 599} {
				check(failure{cause: causeHTTPResponseStatus, upstreamStatus: s}, "received-status", int64(s))
			}
		})
	}
}

func TestProxyStatusAllocations(t *testing.T) {
	proxyStatus("caddy", failure{cause: causeConnectionRefused})
	if n := testing.AllocsPerRun(100, func() {
		proxyStatus("caddy", failure{cause: causeConnectionRefused})
		proxyStatus("caddy", failure{cause: causeHTTPResponseStatus, upstreamStatus: 500})
	}); n != 0 {
		t.Errorf("%.0f allocations per Proxy-Status value", n)
	}
}

func BenchmarkProxyStatus(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		proxyStatus("caddy", failure{cause: causeConnectionRefused})
	}
}
