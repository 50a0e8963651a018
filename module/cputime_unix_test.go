//go:build unix

package upstreamerrors_test

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the whole process has used so far, user and
// system, as the kernel accounts it: exact where a profile samples.
func processCPU() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
