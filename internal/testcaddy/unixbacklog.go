package testcaddy

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// FullUnixBacklog returns the path of a unix socket whose accept queue is
// full, as php-fpm's is under load with a small listen.backlog: a new
// connection fails at once with EAGAIN. It listens with a backlog of
// zero, never accepts, and fills the queue itself.
func FullUnixBacklog(t testing.TB) string {
	t.Helper()
	path, fd := boundUnixSocket(t)
	if err := syscall.Listen(fd, 0); err != nil {
		t.Fatal(err)
	}

	// fill the queue until a dial is refused with EAGAIN
	for range 16 {
		c, err := net.DialTimeout("unix", path, 2*time.Second)
		if errors.Is(err, syscall.EAGAIN) {
			return path
		}
		if err != nil {
			t.Fatalf("filling the accept queue: %v", err)
		}
		t.Cleanup(func() { c.Close() })
	}
	t.Fatal("accept queue never filled")
	return ""
}

// UnboundUnixSocket returns the path of a unix socket bound with nothing
// listening on it, so a connection to it is refused.
func UnboundUnixSocket(t testing.TB) string {
	t.Helper()
	path, _ := boundUnixSocket(t)
	return path
}

// boundUnixSocket binds a unix socket in a fresh short directory (socket
// paths are limited to 108 bytes), closed when the test ends.
func boundUnixSocket(t testing.TB) (path string, fd int) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ue")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path = filepath.Join(dir, "s.sock")
	fd, err = syscall.Socket(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	if err := syscall.Bind(fd, &syscall.SockaddrUnix{Name: path}); err != nil {
		t.Fatal(err)
	}
	return path, fd
}
