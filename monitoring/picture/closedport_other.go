//go:build !unix

package main

import "net"

// closedPort returns a loopback address where nothing listens: a port
// that was free a moment ago, closed again.
func closedPort() (string, func(), error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := l.Addr().String()
	return addr, func() {}, l.Close()
}
