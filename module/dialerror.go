package upstreamerrors

import (
	"errors"
	"reflect"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// unwrapDialError returns the error inside a reverseproxy.DialError.
//
// Caddy's DialError (reverseproxy.go: `type DialError struct{ error }`)
// embeds the dial error without an Unwrap method, which hides a dial
// timeout, a refusal or EAGAIN from errors.Is and errors.As (and is why
// stock Caddy answers 502 for a dial timeout). Its only field is the
// wrapped error, read here through reflection. A one-line
//
//	func (e DialError) Unwrap() error { return e.error }
//
// in Caddy would let this file go. TestDialErrorShape fails if the type
// changes shape.
func unwrapDialError(err error) error {
	var de reverseproxy.DialError
	if !errors.As(err, &de) {
		return err
	}
	if inner := dialErrorCause(&de); inner != nil {
		return inner
	}
	return err
}

// dialErrorCause reads the wrapped error of de, or returns nil when the
// type no longer has the one error field this expects.
func dialErrorCause(de *reverseproxy.DialError) error {
	v := reflect.ValueOf(de).Elem()
	if v.NumField() != 1 || v.Field(0).Type() != reflect.TypeFor[error]() {
		return nil
	}
	f := v.Field(0)
	inner, _ := reflect.NewAt(f.Type(), f.Addr().UnsafePointer()).Elem().Interface().(error)
	return inner
}
