// Package examples holds runnable configurations of the upstream_errors
// handler, each in its own directory, and the tests that load every one
// of them in a real Caddy so none can go stale:
//
//	minimal       upstream_errors in front of one backend
//	pool          a health-checked pool: 503 with Retry-After when all are down
//	slow-backend  transport timeouts answered 504
//	mixed-site    an API route and a browser route, tuned apart
//	legacy-api    an old API's HTML 4xx pages replaced, its JSON errors passed
//	site-errors   the site's own errors (file_server, maintenance) in handle_errors
//	maintenance   a maintenance window switched with a file, the ops network let through
//	auth-gateway  one site-level directive over forward_auth, with a page of the site's own
//	json          minimal's configuration as Caddy JSON
//	demo          the program behind `go run ./examples/demo`
//	legacy        the misbehaving backend the examples proxy to
//
// The Caddyfiles read addresses from environment placeholders with
// defaults, such as {$LEGACY:127.0.0.1:9000}, which
// `go run ./examples/demo legacy` serves.
package examples
