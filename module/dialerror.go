package upstreamerrors

import (
	"errors"
	"reflect"
	"unsafe"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp/reverseproxy"
)

// unwrapDialError returns the error inside a reverseproxy.DialError.
//
// Caddy's DialError (reverseproxy.go: `type DialError struct{ error }`)
// embeds the dial error without an Unwrap method, which hides a dial
// timeout, a refusal or EAGAIN from errors.Is and errors.As (and is why
// stock Caddy answers 502 for a dial timeout). Its only field is the
// wrapped error, read here in place once reflection has checked, at
// start, that the type still has that shape. A one-line
//
//	func (e DialError) Unwrap() error { return e.error }
//
// in Caddy would let this file go. TestDialErrorShape fails if the type
// changes shape.
func unwrapDialError(err error) error {
	// reverse_proxy hands the DialError itself to caddyhttp.Error, which
	// the caller unwraps: a type assertion finds it without a walk
	de, ok := err.(reverseproxy.DialError)
	if !ok {
		var wrapped reverseproxy.DialError // only this one escapes
		if !errors.As(err, &wrapped) {
			return err
		}
		de = wrapped
	}
	if inner := dialErrorCause(&de); inner != nil {
		return inner
	}
	return err
}

// dialErrorShaped is whether DialError has the one error field this
// expects, checked once.
var dialErrorShaped = func() bool {
	t := reflect.TypeFor[reverseproxy.DialError]()
	return t.Kind() == reflect.Struct && t.NumField() == 1 && t.Field(0).Type == reflect.TypeFor[error]()
}()

// dialErrorCause reads the wrapped error of de, or returns nil when the
// type no longer has the one error field this expects.
func dialErrorCause(de *reverseproxy.DialError) error {
	if !dialErrorShaped {
		return nil
	}
	// the struct's only field, an error, is at its start
	return *(*error)(unsafe.Pointer(de))
}
