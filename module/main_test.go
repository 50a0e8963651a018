package upstreamerrors_test

import (
	"os"
	"testing"
	"time"

	upstreamerrors "github.com/caddy-upstream-errors/caddy-upstream-errors/module"
)

// TestMain shortens the drain window from its second to a fifth of one:
// every test of an abandoned drain then waits tenths of a second, with
// the same behaviour to check. The maintenance file is checked every
// twentieth of a second instead of every second, for the same reason.
func TestMain(m *testing.M) {
	if upstreamerrors.DiscardTime() != time.Second {
		// the README promises a second; this is the one place that checks it
		println("the drain window is", upstreamerrors.DiscardTime().String(), "not the documented 1s")
		os.Exit(1)
	}
	if upstreamerrors.MaintenanceCheckEvery() != time.Second {
		// the docs promise a toggle takes effect within about a second
		println("the maintenance file is checked every", upstreamerrors.MaintenanceCheckEvery().String(), "not the documented 1s")
		os.Exit(1)
	}
	upstreamerrors.SetDiscardTime(200 * time.Millisecond)
	upstreamerrors.SetMaintenanceCheckEvery(50 * time.Millisecond)
	os.Exit(m.Run())
}
