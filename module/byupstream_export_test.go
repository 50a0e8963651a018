package upstreamerrors

// ForgetUpstreams empties the process-wide set of upstreams counted by
// name, so a test can start from a process that has seen none.
func ForgetUpstreams() {
	namedUpstreams.Lock()
	clear(namedUpstreams.m)
	namedUpstreams.Unlock()
}
