package testcaddy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"
)

// ClosedPort returns a loopback address where nothing listens, for the
// whole test. The port stays bound (a socket that never listens), so a
// connection to it is refused and no listener or outgoing connection of
// this or another process can take it meanwhile, as one could a port
// merely closed.
func ClosedPort(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

// RawServer accepts connections on loopback and hands each to fn after
// the request head was read. It stops, closing every connection, at the
// end of the test.
func RawServer(t testing.TB, fn func(c net.Conn, req *http.Request)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		conns []net.Conn
		wg    sync.WaitGroup
	)
	done := make(chan struct{})
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				defer c.Close()
				req, err := http.ReadRequest(bufio.NewReader(c))
				if err != nil {
					return
				}
				fn(c, req)
			})
		}
	}()
	t.Cleanup(func() {
		close(done)
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	_ = done
	return l.Addr().String()
}

// Reset closes the connection with a TCP RST.
func Reset(c net.Conn, _ *http.Request) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}

// Reply writes raw bytes and closes.
func Reply(raw string) func(net.Conn, *http.Request) {
	return func(c net.Conn, _ *http.Request) {
		_, _ = c.Write([]byte(raw))
	}
}

// Hang holds the connection open, sending nothing, until the peer closes
// it or the test ends.
func Hang(c net.Conn, _ *http.Request) {
	buf := make([]byte, 1)
	for {
		if _, err := c.Read(buf); err != nil {
			return
		}
	}
}

// Slow waits d, then writes raw; it gives up as soon as the peer closes
// the connection, so a proxy that stopped waiting does not hold the test.
func Slow(d time.Duration, raw string) func(net.Conn, *http.Request) {
	return func(c net.Conn, _ *http.Request) {
		closed := make(chan struct{})
		go func() {
			// ends when the peer closes, or RawServer closes c
			_, _ = io.Copy(io.Discard, c)
			close(closed)
		}()
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			_, _ = c.Write([]byte(raw))
		case <-closed:
		}
	}
}

// HTTPServer serves h on loopback for the test's duration.
func HTTPServer(t testing.TB, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return l.Addr().String()
}

// FullBacklog returns a loopback address whose accept queue is full, so a
// new connection's SYN is dropped and dialing it times out. It listens
// with a backlog of zero, never accepts, and fills the queue itself.
func FullBacklog(t testing.TB) string {
	t.Helper()
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	addr := (&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: sa.(*syscall.SockaddrInet4).Port}).String()

	// fill the queue until a dial no longer completes
	for range 16 {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err != nil {
			return addr
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("accept queue never filled")
	return ""
}
