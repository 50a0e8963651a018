package upstreamerrors

import (
	"errors"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// The module touches only what an upstream did. Caddy says so in two
// places, both read here:
//
//   - caddyhttp.Error records in HandlerError.Trace the function that
//     created the error, as "package.Function (file.go:line)" with the
//     package's last path element, so every error reverse_proxy returns
//     (for any transport, php_fastcgi's included) starts with
//     "reverseproxy.". Errors of other handlers (error, file_server,
//     static_response) keep their own trace, also when wrapped.
//   - reverse_proxy sets {http.reverse_proxy.status_code} to the upstream's
//     status right before it writes the upstream's response head. A status
//     written by any other handler does not set it.
const (
	proxyTracePrefix    = "reverseproxy."
	upstreamStatusPlace = "http.reverse_proxy.status_code"
)

// fromProxy reports whether err was returned by reverse_proxy.
func fromProxy(err error) bool {
	herr, ok := handlerError(err)
	return ok && strings.HasPrefix(herr.Trace, proxyTracePrefix)
}

// handlerError finds the caddyhttp.HandlerError in err's chain. Handlers
// return it as is, which a type assertion finds without a walk.
func handlerError(err error) (caddyhttp.HandlerError, bool) {
	if herr, ok := err.(caddyhttp.HandlerError); ok {
		return herr, true
	}
	return errors.AsType[caddyhttp.HandlerError](err)
}

// upstreamOrigin hides a {http.reverse_proxy.status_code} left by an
// earlier reverse_proxy (such as forward_auth's) while the next handler
// runs, so only a status set during this call counts, and puts it back
// afterwards if nothing replaced it. It allocates nothing.
type upstreamOrigin struct {
	repl  *caddy.Replacer
	prior any
	had   bool
}

// hide removes a stale upstream status from repl.
func (o *upstreamOrigin) hide(repl *caddy.Replacer) {
	o.repl = repl
	if repl == nil {
		return
	}
	o.prior, o.had = repl.Get(upstreamStatusPlace)
	if o.had {
		repl.Delete(upstreamStatusPlace)
	}
}

// restore puts back a hidden status that was not set again.
func (o *upstreamOrigin) restore() {
	if !o.had {
		return
	}
	if _, set := o.repl.Get(upstreamStatusPlace); !set {
		o.repl.Set(upstreamStatusPlace, o.prior)
	}
}

// isUpstreamStatus reports whether status is the upstream response
// reverse_proxy is copying in this call.
func isUpstreamStatus(repl *caddy.Replacer, status int) bool {
	if repl == nil {
		return false
	}
	v, ok := repl.Get(upstreamStatusPlace)
	if !ok {
		return false
	}
	n, ok := v.(int)
	return ok && n == status
}
