package upstreamerrors

import "time"

// DiscardTime is the drain window a handler gives an intercepted body.
func DiscardTime() time.Duration { return discardTime }

// SetDiscardTime changes the drain window for the test binary; it must be
// called before any Caddy starts.
func SetDiscardTime(d time.Duration) { discardTime = d }
