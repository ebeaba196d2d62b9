// Package prefault populates the Go heap's memory in bulk as the runtime
// maps it. On virtual machines where a page fault costs 10-20 µs (this
// project's 2-core CI machine measures 14 µs per 4 KB page, against
// 0.2 µs per page for one MADV_POPULATE_WRITE over a range), a sync that
// grows its heap to 250 MB spends about a second of system time taking
// one fault per page. It is Java's AlwaysPreTouch, applied as the heap
// grows: only memory the runtime has already mapped for the heap is
// touched, so the resident size stays what the heap would reach anyway.
// It also keeps a large heap from doubling before each collection (see
// gcTuner), the other half of a sync's memory bound.
package prefault
