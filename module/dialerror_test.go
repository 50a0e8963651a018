package upstreamerrors

import (
	"errors"
	"reflect"
	"syscall"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// TestDialErrorShape fails loudly when Caddy changes reverseproxy.DialError:
// the classification of every dial failure reads through it.
func TestDialErrorShape(t *testing.T) {
	typ := reflect.TypeFor[reverseproxy.DialError]()
	if typ.Kind() != reflect.Struct || typ.NumField() != 1 || typ.Field(0).Type != reflect.TypeFor[error]() {
		t.Fatalf("PIN DialError: Caddy's reverseproxy.DialError is now %v with %d fields, not struct{ error }. dialerror.go reads the dial error inside it by that shape: update unwrapDialError and dialErrorCause to the new type. Until then a dial failure is answered 502 upstream_error, its generic detail and no upstream content.", typ, typ.NumField())
	}
	if _, ok := typ.MethodByName("Unwrap"); ok {
		t.Fatal("PIN DialError: Caddy's reverseproxy.DialError has an Unwrap method now: dialerror.go can go, classify with errors.As")
	}
	inner := syscall.ECONNREFUSED
	de := reverseproxy.NewDialError(inner)
	if got := dialErrorCause(&de); got != inner {
		t.Fatalf("dialErrorCause = %v, want the wrapped %v", got, inner)
	}
}

func TestUnwrapDialError(t *testing.T) {
	inner := errors.New("inner")
	if got := unwrapDialError(reverseproxy.NewDialError(inner)); got != inner {
		t.Errorf("got %v", got)
	}
	if got := unwrapDialError(caddyhttp.Error(502, reverseproxy.NewDialError(inner))); got != inner {
		t.Errorf("inside a handler error: got %v", got)
	}
	if got := unwrapDialError(inner); got != inner {
		t.Errorf("non-dial error changed: %v", got)
	}
}
