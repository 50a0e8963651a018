package upstreamerrors_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// TestPinViaValue: reverse_proxy adds its own Via element, "<proto>
// Caddy", to every upstream response it copies; origin.go's proxyViaAdded
// and detail.go's proxyVia tell its copy by it.
func TestPinViaValue(t *testing.T) {
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	c := testcaddy.StartCaddyfile(t, "reverse_proxy "+up)
	res, err := c.Client.Get(c.URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	via := res.Header.Values("Via")
	if len(via) != 1 || !strings.HasSuffix(via[0], " Caddy") {
		t.Fatalf(`PIN Via value: reverse_proxy's copy of an upstream response carries Via %q, not one element ending in " Caddy". origin.go's proxyViaAdded and detail.go's proxyVia look for it: update them to the new value (reverseproxy.go, finalizeResponse). Until then the call-stack check and the upstream's status and fields still mark its pages.`, via)
	}
}

// TestPinStatusPlaceholder: reverse_proxy sets the upstream's status and
// fields as placeholders as soon as it answers; origin.go reads them.
func TestPinStatusPlaceholder(t *testing.T) {
	up := testcaddy.HTTPServer(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Up", "yes")
		w.WriteHeader(203)
	}))
	c := testcaddy.StartCaddyfile(t, "reverse_proxy "+up+` {
	@any status 2xx
	handle_response @any {
		respond "{http.reverse_proxy.status_code} {http.reverse_proxy.header.X-Up} {http.reverse_proxy.upstream.hostport}" 200
	}
}`)
	res, err := c.Client.Get(c.URL("/"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	got := strings.Fields(string(body))
	if len(got) < 2 || got[0] != "203" || got[1] != "yes" {
		t.Fatalf("PIN placeholder: reverse_proxy's {http.reverse_proxy.status_code} {http.reverse_proxy.header.X-Up} read %q, want the upstream's \"203 yes\". origin.go reads the upstream's status and fields from these to tell a replayed upstream response from the site's own page: update upstreamStatusPlace and upstreamViaPlace to the new names. Until then the call-stack and Via checks still mark what reverse_proxy copies.", body)
	}
	if len(got) != 3 || got[2] != up {
		t.Fatalf("PIN placeholder: reverse_proxy's {http.reverse_proxy.upstream.hostport} read %q, want the upstream %s. serve.go logs it as the entry's upstream field: update the name there. Until then entries have no upstream field.", body, up)
	}
}
