// Package caddyupstreamerrors plugs the upstream_errors handler and its
// Caddyfile directive into Caddy:
//
//	xcaddy build --with github.com/caddy-upstream-errors/caddy-upstream-errors
package caddyupstreamerrors

import (
	_ "github.com/caddy-upstream-errors/caddy-upstream-errors/caddyfile"
	_ "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)
