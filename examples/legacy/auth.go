package legacy

import "net/http"

// DemoToken is the bearer token /auth accepts.
const DemoToken = "demo"

// auth is an auth service for forward_auth: it accepts a request that
// carries the demo token, naming its user for the app, and challenges
// any other, the way a login service in front of a legacy app does.
func (b *Backend) auth(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "Bearer "+DemoToken {
		w.Header().Set("X-User", "demo")
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Www-Authenticate", `Bearer realm="legacy"`)
	html(w, http.StatusUnauthorized, "401 Unauthorized", "<h1>Unauthorized</h1>\n<p>Log in first.</p>")
}
