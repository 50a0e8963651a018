package testcaddy

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var binary struct {
	once sync.Once
	path string
	err  error
	out  []byte
}

// Binary builds ./cmd/caddy (Caddy with this module, as xcaddy builds it)
// once per test process and returns its path, for tests that need real
// Caddy processes or the `caddy upstream-errors` commands.
func Binary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "upstream-errors-caddy-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "caddy")
		if runtime.GOOS == "windows" {
			binary.path += ".exe"
		}
		cmd := exec.Command("go", "build", "-o", binary.path,
			"github.com/caddy-upstream-errors/caddy-upstream-errors/cmd/caddy")
		binary.out, binary.err = cmd.CombinedOutput()
	})
	if binary.err != nil {
		t.Fatalf("building cmd/caddy: %v\n%s", binary.err, binary.out)
	}
	return binary.path
}
