// Package legacy is a stand-in for an old backend that fails in every way
// a reverse proxy has to cope with. Each path misbehaves differently, so a
// demo or a test can put upstream_errors in front of it and watch each
// failure come out as one clean problem response.
//
//	/, /ok        200 page
//	/error        500 with a stack trace page and revealing headers
//	/unavailable  503 maintenance page with Retry-After: 120
//	/timeout      answers after ?ms= milliseconds (default 5000)
//	/reset        resets the connection (TCP RST) without answering
//	/garbage      answers with bytes that are not HTTP
//	/sse          server-sent events: ?n= events (default 5), ?ms= apart (default 500)
//	/big          streams ?mb= MiB (default 10)
//	/login        401 page with WWW-Authenticate
//	/submit       405 page with Allow: POST
//	/limit        429 page with Retry-After: 30
//	/validate     422 application/problem+json validation error
//	/notfound     404 page, as is any other path
//	/auth         forward_auth endpoint: 200 with X-User for "Authorization: Bearer demo", else a 401 page
//	/health       200, or 503 while the backend is marked down
//	/admin/down   marks the backend down (only /health changes)
//	/admin/up     marks it up again
package legacy

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"
)

// Limits on what a query can ask for, so a stray request cannot tie the
// backend up for long or stream without end.
const (
	DefaultTimeout = 5 * time.Second
	MaxTimeout     = 60 * time.Second
	DefaultSize    = 10 // MiB
	MaxSize        = 1024
	DefaultEvents  = 5
	MaxEvents      = 100
	DefaultGap     = 500 * time.Millisecond // between events
)

// Backend is the legacy backend; create it with New.
type Backend struct {
	mux  *http.ServeMux
	down atomic.Bool
}

// New returns a backend that is up.
func New() *Backend {
	b := new(Backend)
	b.mux = b.routes()
	return b
}

// Down reports whether the backend is marked down.
func (b *Backend) Down() bool { return b.down.Load() }

// SetDown marks the backend down or up; only /health tells.
func (b *Backend) SetDown(down bool) { b.down.Store(down) }

func (b *Backend) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", b.page)
	mux.HandleFunc("/ok", b.page)
	mux.HandleFunc("/error", b.crash)
	mux.HandleFunc("/unavailable", b.unavailable)
	mux.HandleFunc("/timeout", b.timeout)
	mux.HandleFunc("/reset", b.reset)
	mux.HandleFunc("/garbage", b.garbage)
	mux.HandleFunc("/sse", b.sse)
	mux.HandleFunc("/big", b.big)
	mux.HandleFunc("/health", b.health)
	mux.HandleFunc("/auth", b.auth)
	// any method, so the demo can be driven with a bare curl
	mux.HandleFunc("/admin/down", b.admin(true))
	mux.HandleFunc("/admin/up", b.admin(false))
	b.clientErrorRoutes(mux)
	mux.HandleFunc("/", b.notFound)
	return mux
}

// ServeHTTP implements http.Handler.
func (b *Backend) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.mux.ServeHTTP(w, r)
}

func (b *Backend) page(w http.ResponseWriter, r *http.Request) {
	html(w, http.StatusOK, "Legacy App", "<h1>Legacy App</h1>\n<p>Everything is fine.</p>")
}

// crash answers the way an old PHP stack does when it crashes, leaking
// its versions, paths and a stack trace.
func (b *Backend) crash(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Server", "Apache/2.2.15 (CentOS)")
	w.Header().Set("X-Powered-By", "PHP/5.3.3")
	w.Header().Set("Set-Cookie", "PHPSESSID=3f2b1c9d8e7a6b5c; path=/")
	html(w, http.StatusInternalServerError, "500 Internal Server Error", `<h1>Fatal error</h1>
<p>Uncaught exception 'PDOException' with message 'SQLSTATE[HY000] [2002] Connection refused'</p>
<pre>
#0 /var/www/html/lib/db.php(42): PDO->__construct('mysql:host=db-master;dbname=shop', 'shop', 'hunter2')
#1 /var/www/html/lib/cart.php(17): Db::connect()
#2 /var/www/html/index.php(8): Cart->load('1234')
#3 {main}
  thrown in /var/www/html/lib/db.php on line 42
</pre>`)
}

func (b *Backend) unavailable(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Retry-After", "120")
	html(w, http.StatusServiceUnavailable, "Down for maintenance", "<h1>Down for maintenance</h1>\n<p>Back in two minutes.</p>")
}

// timeout answers late; it gives up early when the client leaves, so a
// proxy's timeout does not leave it sleeping.
func (b *Backend) timeout(w http.ResponseWriter, r *http.Request) {
	d := time.Duration(intParam(r, "ms", int(DefaultTimeout/time.Millisecond), int(MaxTimeout/time.Millisecond))) * time.Millisecond
	select {
	case <-time.After(d):
	case <-r.Context().Done():
		return
	}
	html(w, http.StatusOK, "Finally", fmt.Sprintf("<h1>Finally</h1>\n<p>Answered after %s.</p>", d))
}

func (b *Backend) reset(w http.ResponseWriter, r *http.Request) {
	c, _, err := hijack(w)
	if err != nil {
		return
	}
	resetConn(c)
}

// garbage answers like a service that does not speak HTTP at all.
func (b *Backend) garbage(w http.ResponseWriter, r *http.Request) {
	c, _, err := hijack(w)
	if err != nil {
		return
	}
	defer c.Close()
	_, _ = io.WriteString(c, "SSH-2.0-OpenSSH_5.3\r\n\x00\x00\x01\x14\x0b\x14\xde\xad\xbe\xef")
}

// sse streams events, flushing each one so it leaves at once.
func (b *Backend) sse(w http.ResponseWriter, r *http.Request) {
	n := intParam(r, "n", DefaultEvents, MaxEvents)
	gap := time.Duration(intParam(r, "ms", int(DefaultGap/time.Millisecond), int(MaxTimeout/time.Millisecond))) * time.Millisecond
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	for i := 1; i <= n; i++ {
		if i > 1 {
			select {
			case <-time.After(gap):
			case <-r.Context().Done():
				return
			}
		}
		if _, err := fmt.Fprintf(w, "id: %d\nevent: tick\ndata: {\"n\":%d,\"of\":%d}\n\n", i, i, n); err != nil { //nolint:gosec // numbers only, in an event stream
			return
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}

// big streams a large download with a known length.
func (b *Backend) big(w http.ResponseWriter, r *http.Request) {
	size := int64(intParam(r, "mb", DefaultSize, MaxSize)) << 20
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="big.bin"`)
	w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = io.CopyN(w, pattern{}, size)
}

func (b *Backend) notFound(w http.ResponseWriter, r *http.Request) {
	html(w, http.StatusNotFound, "404 Not Found", "<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>")
}

func (b *Backend) health(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if b.Down() {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, "down\n")
		return
	}
	_, _ = io.WriteString(w, "ok\n")
}

func (b *Backend) admin(down bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b.SetDown(down)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if down {
			_, _ = io.WriteString(w, "backend marked down: /health now answers 503\n")
			return
		}
		_, _ = io.WriteString(w, "backend marked up: /health now answers 200\n")
	}
}

// html writes a small HTML page.
func html(w http.ResponseWriter, status int, title, body string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, "<!DOCTYPE html>\n<html><head><title>%s</title></head>\n<body>\n%s\n</body></html>\n", title, body) //nolint:gosec // the legacy backend's own fixed pages
}

// intParam reads a non-negative integer query parameter, clamped to limit.
func intParam(r *http.Request, name string, def, limit int) int {
	n, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil || n < 0 {
		return def
	}
	return min(n, limit)
}

// pattern is an endless reader of printable bytes.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'a' + byte(i%26)
	}
	return len(p), nil
}
