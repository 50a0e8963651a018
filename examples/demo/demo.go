package main

import (
	"cmp"
	"context"
	_ "embed"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/examples/legacy"
)

//go:embed Caddyfile
var caddyfile []byte

// Defaults of the demo's addresses; both are on loopback so the demo is
// reachable from this machine only.
const (
	defaultAddr  = "127.0.0.1:8080"
	defaultAdmin = "127.0.0.1:2019"
)

// run starts the backend and Caddy, prints what to try, and serves until
// ctx is done.
func run(ctx context.Context, out io.Writer) error {
	addr := cmp.Or(os.Getenv("DEMO_ADDR"), defaultAddr)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("DEMO_ADDR %q: want host:port: %v", addr, err)
	}
	host = cmp.Or(host, "127.0.0.1")
	admin := cmp.Or(os.Getenv("DEMO_ADMIN"), defaultAdmin)
	if err := checkFree(net.JoinHostPort(host, port), admin); err != nil {
		return err
	}

	backend, err := legacy.Listen("127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("starting the legacy backend: %v", err)
	}
	defer backend.Close()
	dead, err := closedPort()
	if err != nil {
		return err
	}

	// the Caddyfile reads the addresses from its environment placeholders
	for k, v := range map[string]string{
		"LEGACY":     backend.Addr,
		"DEAD":       dead,
		"DEMO_HOST":  host,
		"DEMO_PORT":  port,
		"DEMO_ADMIN": admin,
	} {
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	cfg, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(caddyfile, map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return fmt.Errorf("adapting the embedded Caddyfile: %v", err)
	}
	for _, w := range warnings {
		fmt.Fprintf(os.Stderr, "demo: %s\n", w)
	}
	if err := caddy.Load(cfg, true); err != nil {
		return fmt.Errorf("starting Caddy: %v", err)
	}
	defer caddy.Stop() //nolint:errcheck // it always returns nil

	banner(out, net.JoinHostPort(host, port), backend.Addr, dead, admin)
	<-ctx.Done()
	fmt.Fprintln(out, "\nstopping")
	return nil
}

// closedPort returns a loopback address that nothing listens on: the
// port was just free, and is closed again.
func closedPort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
