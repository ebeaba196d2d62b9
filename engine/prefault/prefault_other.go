//go:build !linux

package prefault

// Start does nothing where page faults are not known to be the cost.
func Start() (stop func()) { return func() {} }

// Bytes is make([]byte, n).
func Bytes(n int) []byte { return make([]byte, n) }
