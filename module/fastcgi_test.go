package upstreamerrors_test

import (
	"io"
	"net"
	"net/http"
	"net/http/fcgi"
	"os"
	"path/filepath"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// fastCGIBackend serves h over FastCGI on a unix socket in a temporary
// directory, as php-fpm does, and returns the socket's path.
func fastCGIBackend(t *testing.T, h http.Handler) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "php.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() { _ = fcgi.Serve(l, h) }()
	return sock
}

// phpSite returns a site root holding the scripts php_fastcgi looks for.
func phpSite(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	for _, name := range []string{"index.php", "error.php", "slow.php"} {
		if err := os.WriteFile(filepath.Join(root, name), []byte("<?php ?>"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// phpScripts stands in for php-fpm running the site's scripts.
func phpScripts(release <-chan struct{}) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/index.php", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Powered-By", "PHP/8.3.0")
		io.WriteString(w, "hello from php")
	})
	mux.HandleFunc("/error.php", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Powered-By", "PHP/8.3.0")
		w.WriteHeader(500)
		io.WriteString(w, "<b>Fatal error</b>: Uncaught PDOException in /srv/www/db.php:12")
	})
	mux.HandleFunc("/slow.php", func(w http.ResponseWriter, r *http.Request) {
		<-release
	})
	return mux
}

func TestPHPFastCGI(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	sock := fastCGIBackend(t, phpScripts(release))
	root := phpSite(t)
	c := testcaddy.StartCaddyfile(t, `root * `+root+`
upstream_errors
php_fastcgi unix/`+sock+` {
	read_timeout 300ms
}`)

	t.Run("page", func(t *testing.T) {
		res, body, id := request(t, c, "GET", "/index.php")
		if res.StatusCode != 200 || string(body) != "hello from php" || res.Header.Get("X-Powered-By") != "PHP/8.3.0" {
			t.Errorf("%d %q %v, want the script's page", res.StatusCode, body, res.Header)
		}
		if v := res.Header.Values("Proxy-Status"); len(v) != 0 {
			t.Errorf("Proxy-Status %q on a passed-through page", v)
		}
		if es := c.ModuleEntries(id); len(es) != 0 {
			t.Errorf("a passed-through page was logged: %v", es)
		}
	})
	t.Run("500 page", func(t *testing.T) {
		res, body, id := request(t, c, "GET", "/error.php")
		expectProblem(t, c, res, body, id, problem{status: 502, cause: "http_response_status", upstream: 500})
	})
	t.Run("read timeout", func(t *testing.T) {
		res, body, id := request(t, c, "GET", "/slow.php")
		expectProblem(t, c, res, body, id, problem{status: 504, cause: "connection_read_timeout"})
	})
}

func TestPHPFastCGIMissingSocket(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "php-fpm.sock")
	c := testcaddy.StartCaddyfile(t, "root * "+phpSite(t)+"\nupstream_errors\nphp_fastcgi unix/"+sock)
	// nothing listens where the socket should be: the backend is down
	res, body, id := request(t, c, "GET", "/index.php")
	expectProblem(t, c, res, body, id, problem{status: 502, cause: "connection_refused"})
}

// php-fpm with a small listen.backlog under load: its socket refuses at
// once, which is overload (503, come back later), not a timeout.
func TestPHPFastCGIFullSocket(t *testing.T) {
	sock := testcaddy.FullUnixBacklog(t)
	c := testcaddy.StartCaddyfile(t, "root * "+phpSite(t)+"\nupstream_errors\nphp_fastcgi unix/"+sock)
	res, body, id := request(t, c, "GET", "/index.php")
	expectProblem(t, c, res, body, id, problem{status: 503, cause: "destination_overloaded"})
	if got := res.Header.Get("Retry-After"); got != "10" {
		t.Errorf("Retry-After = %q, want the default 10", got)
	}
}
