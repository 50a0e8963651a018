package legacy

import (
	"io"
	"net/http"
)

// The 4xx answers of an old API: HTML pages with the fields their status
// needs, and one modern endpoint whose validation errors are JSON.
//
//	/login     401 page with WWW-Authenticate
//	/submit    405 page with Allow: POST (to any method)
//	/limit     429 page with Retry-After: 30
//	/validate  422 application/problem+json naming the invalid field
func (b *Backend) clientErrorRoutes(mux *http.ServeMux) {
	mux.HandleFunc("/login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Www-Authenticate", `Basic realm="Legacy App"`)
		leaky(w)
		html(w, http.StatusUnauthorized, "401 Authorization Required", "<h1>Authorization Required</h1>\n<p>This server could not verify that you are authorized.</p>\n<address>Apache/2.2.15 (CentOS) Server at legacy.internal Port 80</address>")
	})
	mux.HandleFunc("/submit", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "POST")
		leaky(w)
		html(w, http.StatusMethodNotAllowed, "405 Method Not Allowed", "<h1>Method Not Allowed</h1>\n<p>The requested method is not allowed for the URL /submit.</p>")
	})
	mux.HandleFunc("/limit", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		leaky(w)
		html(w, http.StatusTooManyRequests, "429 Too Many Requests", "<h1>Too Many Requests</h1>\n<p>mod_evasive: blocked 10.20.30.40.</p>")
	})
	mux.HandleFunc("/validate", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusUnprocessableEntity)
		_, _ = io.WriteString(w, `{"type":"https://api.example.com/problems/validation","title":"Invalid order","status":422,"errors":[{"field":"quantity","detail":"must be at least 1"}]}`+"\n")
	})
}

// leaky sets the revealing headers an old stack sends with every page.
func leaky(w http.ResponseWriter) {
	w.Header().Set("Server", "Apache/2.2.15 (CentOS)")
	w.Header().Set("X-Powered-By", "PHP/5.3.3")
}
