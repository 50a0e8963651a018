package upstreamerrors

import "time"

// DiscardTime is the drain window a handler gives an intercepted body.
func DiscardTime() time.Duration { return discardTime }

// SetDiscardTime changes the drain window for the test binary; it must be
// called before any Caddy starts.
func SetDiscardTime(d time.Duration) { discardTime = d }

// MaintenanceCheckEvery is how often a handler checks its maintenance file.
func MaintenanceCheckEvery() time.Duration { return maintenanceCheckEvery }

// SetMaintenanceCheckEvery changes that period for the test binary; it
// must be called before any Caddy starts.
func SetMaintenanceCheckEvery(d time.Duration) { maintenanceCheckEvery = d }

// RaceEnabled reports whether the test binary runs under the race
// detector, which slows every goroutine several times over.
func RaceEnabled() bool { return raceEnabled() }

// HeldRequests is how many requests a hold keeps waiting in the process.
func HeldRequests() int64 { return heldRequests.Load() }
