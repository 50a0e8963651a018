package legacy

import (
	"bufio"
	"net"
	"net/http"
)

// hijack takes the connection over from net/http, for failures that no
// well-formed HTTP response can produce.
func hijack(w http.ResponseWriter) (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w).Hijack()
}

// resetConn closes c with a TCP RST rather than a FIN: with a zero linger
// time the kernel drops what is unsent and aborts the connection, the way
// a crashed process or a stateful firewall cuts it.
func resetConn(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = c.Close()
}
