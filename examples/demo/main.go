// Command demo shows the upstream_errors handler at work.
//
// With no arguments it starts a misbehaving legacy backend and, in front
// of it, a Caddy running the embedded Caddyfile on 127.0.0.1:8080 (or
// $DEMO_ADDR; the admin endpoint on 127.0.0.1:2019 or $DEMO_ADMIN), and
// prints URLs to try; a taken address is named, with the variable that
// moves it. With arguments it is the caddy command, with upstream_errors
// built in and one more command, legacy, that runs the backend alone for
// the other examples:
//
//	go run ./examples/demo
//	go run ./examples/demo list-modules
//	go run ./examples/demo legacy --listen 127.0.0.1:9000
//	go run ./examples/demo run --config examples/minimal/Caddyfile
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/caddy-upstream-errors/caddy-upstream-errors"
)

func main() {
	if len(os.Args) > 1 {
		caddycmd.Main()
		return
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
