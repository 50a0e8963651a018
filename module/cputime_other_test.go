//go:build !unix

package upstreamerrors_test

import "time"

// processCPU is not measured here: BenchmarkCPUShare leaves out cpu-ns/op.
func processCPU() (time.Duration, bool) { return 0, false }
