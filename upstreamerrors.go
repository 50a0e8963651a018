// Package caddyupstreamerrors plugs the upstream_errors handler, its
// Caddyfile directive, its admin API endpoints and its `caddy
// upstream-errors` commands into Caddy:
//
//	xcaddy build --with github.com/caddy-upstream-errors/caddy-upstream-errors
package caddyupstreamerrors

import (
	_ "github.com/caddy-upstream-errors/caddy-upstream-errors/adminapi"
	_ "github.com/caddy-upstream-errors/caddy-upstream-errors/caddyfile"
	_ "github.com/caddy-upstream-errors/caddy-upstream-errors/command"
	_ "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)
