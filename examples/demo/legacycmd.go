package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/examples/legacy"
)

func init() {
	fs := flag.NewFlagSet("legacy", flag.ExitOnError)
	fs.String("listen", "127.0.0.1:9000", "The address to listen on")
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "legacy",
		Usage: "[--listen <addr>]",
		Short: "Runs the misbehaving legacy backend used by the examples",
		Long: `
Runs the legacy backend of the examples (package examples/legacy), which
misbehaves by path: /error, /unavailable, /timeout, /reset, /garbage,
/sse, /big, /notfound, /login, /submit, /limit, /validate, /health,
/admin/down and /admin/up.

It listens on 127.0.0.1:9000 by default, the address the example
Caddyfiles proxy to unless $LEGACY says otherwise.`,
		Flags: fs,
		Func:  cmdLegacy,
	})
}

func cmdLegacy(fl caddycmd.Flags) (int, error) {
	s, err := legacy.Listen(fl.String("listen"))
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	fmt.Printf("legacy backend on http://%s; stop with Ctrl-C\n", s.Addr)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	return caddy.ExitCodeSuccess, s.Close()
}
