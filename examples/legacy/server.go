package legacy

import (
	"net"
	"net/http"
	"time"
)

// Server is a Backend serving on a TCP address.
type Server struct {
	*Backend

	// Addr is the address it listens on, with the port it got.
	Addr string

	srv *http.Server
}

// Listen starts a new Backend on addr; a port of 0 picks a free one.
func Listen(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{
		Backend: New(),
		Addr:    ln.Addr().String(),
	}
	// no write timeout: /timeout, /sse and /big are slow on purpose
	s.srv = &http.Server{Handler: s.Backend, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server and closes every connection.
func (s *Server) Close() error {
	return s.srv.Close()
}
