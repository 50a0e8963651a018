// Command caddy is Caddy with its standard modules and upstream_errors, as
// `xcaddy build --with` makes it: `go run ./cmd/caddy run --config ...`.
// The tests build it to drive real Caddy processes and the `caddy
// upstream-errors` commands.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-upstream-errors/caddy-upstream-errors"
)

func main() {
	caddycmd.Main()
}
