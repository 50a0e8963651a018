package adminapi_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/caddy-upstream-errors/caddy-upstream-errors/adminapi"
	"github.com/caddy-upstream-errors/caddy-upstream-errors/internal/testcaddy"
)

// winStatus is a window as the admin API reports it, every member kept
// to tell a missing one from a zero one.
type winStatus map[string]any

// winCaddy runs Caddy in process with its admin API and a file_system
// storage in a fresh directory, which it returns, serving site.
func winCaddy(t *testing.T, site string) (*testcaddy.Caddy, string) {
	t.Helper()
	dir := t.TempDir()
	return testcaddy.StartCaddyfile(t, site, testcaddy.Options{Admin: true, Global: "storage file_system " + dir}), dir
}

// winAdmin sends method to the maintenance endpoint path (after
// MaintenancePath) and returns the status and body.
func winAdmin(t *testing.T, c *testcaddy.Caddy, method, path string) (int, []byte) {
	t.Helper()
	res, body := adminRequest(t, c, method, adminapi.MaintenancePath+path)
	return res.StatusCode, body
}

// winOne decodes the answer about one window, failing on a status not 200.
func winOne(t *testing.T, c *testcaddy.Caddy, method, name string) winStatus {
	t.Helper()
	code, body := winAdmin(t, c, method, "/"+name)
	var st winStatus
	if err := json.Unmarshal(body, &st); code != 200 || err != nil {
		t.Fatalf("%s %s: %d %s (%v)", method, name, code, body, err)
	}
	return st
}

// winList decodes the list of windows by name, failing on a status not 200.
func winList(t *testing.T, c *testcaddy.Caddy) map[string]winStatus {
	t.Helper()
	code, body := winAdmin(t, c, "GET", "")
	var list []winStatus
	if err := json.Unmarshal(body, &list); code != 200 || err != nil {
		t.Fatalf("list: %d %s (%v)", code, body, err)
	}
	out := make(map[string]winStatus, len(list))
	for _, st := range list {
		out[st["window"].(string)] = st
	}
	return out
}

const winSite = "upstream_errors {\n\tmaintenance {\n\t\twindow shop\n\t}\n}\nrespond up"

// Each answer says whether a handler of this process follows the window,
// so switching a name no site uses (a typo) shows, though it still works
// for a fleet whose sites run elsewhere.
func TestWindowFollowed(t *testing.T) {
	c, _ := winCaddy(t, winSite)
	for _, tc := range []struct {
		method, name string
		followed     bool
	}{
		{"PUT", "shop", true},
		{"GET", "shop", true},
		{"PUT", "shpo", false},
		{"GET", "shpo", false},
		{"DELETE", "shpo", false},
		{"DELETE", "shop", true},
	} {
		if st := winOne(t, c, tc.method, tc.name); st["followed"] != tc.followed {
			t.Errorf("%s %s: followed %v, want %v (%v)", tc.method, tc.name, st["followed"], tc.followed, st)
		}
	}
	list := winList(t, c)
	if list["shop"]["followed"] != true || list["shpo"]["followed"] != false {
		t.Errorf("list %v: want shop followed and shpo not", list)
	}

	// a config without the window follows it no more
	c.Reload("respond up")
	if st := winOne(t, c, "GET", "shop"); st["followed"] != false {
		t.Errorf("after a reload dropping the window: followed %v, want false", st["followed"])
	}
}

// One key that cannot be read or parsed is listed with its error beside
// the others, which are listed as usual; keys that are not a window's,
// such as file_system storage's digits-only temporary files, are not
// listed.
func TestWindowListBadKeys(t *testing.T) {
	c, dir := winCaddy(t, winSite)
	winOne(t, c, "PUT", "shop")
	prefix := filepath.Join(dir, "upstream_errors", "maintenance")
	for name, content := range map[string]string{"garbage": "not a state", "2357785124": `{"on":true}`} {
		if err := os.WriteFile(filepath.Join(prefix, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(prefix, "folder"), 0o700); err != nil {
		t.Fatal(err)
	}
	list := winList(t, c)
	if len(list) != 3 {
		t.Errorf("listed %v, want shop, garbage and folder", list)
	}
	if st := list["shop"]; st["on"] != true || st["followed"] != true || st["error"] != nil {
		t.Errorf("shop listed %v, want on, followed, no error", st)
	}
	for _, bad := range []string{"garbage", "folder"} {
		st := list[bad]
		msg, _ := st["error"].(string)
		if msg == "" || st["key"] != "upstream_errors/maintenance/"+bad {
			t.Errorf("%s listed %v, want its key and an error", bad, st)
		}
		if _, ok := st["on"]; ok {
			t.Errorf("%s listed %v: an unreadable window has no state to tell", bad, st)
		}
	}
}

// Lists racing switches never fail and never show what is not a window:
// file_system storage writes each key through a temporary file beside it.
func TestWindowListWhileSwitching(t *testing.T) {
	c, _ := winCaddy(t, winSite)
	const each = 200
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		failed = map[string]int{}
	)
	fail := func(format string, args ...any) {
		mu.Lock()
		failed[fmt.Sprintf(format, args...)]++
		mu.Unlock()
	}
	// a few at a time, as the admin API's clients would
	sem := make(chan struct{}, 16)
	do := func(method, path string) (int, []byte) {
		sem <- struct{}{}
		defer func() { <-sem }()
		req, _ := http.NewRequest(method, "http://"+c.Admin+adminapi.MaintenancePath+path, nil)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			fail("%s: %v", method, err)
			return 0, nil
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, body
	}
	names := []string{"shop", "blog", "api"}
	for i := range each {
		wg.Go(func() {
			method := map[bool]string{true: "PUT", false: "DELETE"}[i%2 == 0]
			if code, body := do(method, "/"+names[i%len(names)]); code != 200 {
				fail("%s: %d %s", method, code, body)
			}
		})
		wg.Go(func() {
			code, body := do("GET", "")
			var list []winStatus
			if err := json.Unmarshal(body, &list); code != 200 || err != nil {
				fail("list: %d %s", code, strings.TrimSpace(string(body)))
				return
			}
			for _, st := range list {
				switch name := st["window"]; {
				case name != "shop" && name != "blog" && name != "api":
					fail("listed a window that is not one")
				case st["error"] != nil:
					fail("listed %s with an error: %v", name, st["error"])
				}
			}
		})
	}
	wg.Wait()
	for what, n := range failed {
		t.Errorf("%s (%d times)", what, n)
	}
}
