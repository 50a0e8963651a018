package main

import (
	"errors"
	"fmt"
	"net"
	"syscall"

	"github.com/caddyserver/caddy/v2"
)

// portsHint is how to move the demo off taken addresses.
const portsHint = "choose free addresses with DEMO_ADDR (the site) and DEMO_ADMIN (the admin endpoint, or off), as in\n\n\tDEMO_ADDR=127.0.0.1:9080 DEMO_ADMIN=127.0.0.1:2099 go run ./examples/demo"

// checkFree fails, naming the address and the variables that move it, when
// something already listens on the site's or the admin endpoint's address.
// Without it a port held by another program fails the load with a bare
// "bind: address already in use" that names neither variable, and a port
// held by another Caddy (an earlier demo still running) does not fail at
// all: Caddy binds with SO_REUSEPORT, so both would share the port and the
// kernel would split requests between them. A plain bind, as here, fails
// in both cases.
func checkFree(site, admin string) error {
	if err := probe("the site's address", "DEMO_ADDR", "tcp", site); err != nil {
		return err
	}
	if admin == "off" {
		return nil
	}
	na, err := caddy.ParseNetworkAddress(admin)
	if err != nil || na.IsUnixNetwork() || na.IsFdNetwork() || na.PortRangeSize() != 1 {
		return nil // not a TCP address; Caddy reports what is wrong with it
	}
	return probe("the admin endpoint's address", "DEMO_ADMIN", na.Network, na.JoinHostPort(0))
}

// probe binds addr and lets it go again, reporting the address in use.
func probe(what, env, network, addr string) error {
	l, err := net.Listen(network, addr)
	if errors.Is(err, syscall.EADDRINUSE) {
		return fmt.Errorf("%s %s (%s) is already in use, by another program or a demo still running; %s", what, addr, env, portsHint)
	}
	if err != nil {
		return fmt.Errorf("%s %s (%s): %v", what, addr, env, err)
	}
	return l.Close()
}
