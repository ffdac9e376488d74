// Package hugepage backs the start of the Go heap with transparent huge pages, once, as the
// process starts. Importing it is enough (cmd/skiff does, for its side effect).
//
// Why: a skiff command is a short process whose Go heap is fresh memory, and every first touch
// of a 4 KiB page is a page fault. On a virtual machine a fault can cost 10-15 µs (on the
// machine skiff is benchmarked on, 11 µs for an anonymous page against 0.01 µs to touch it once
// mapped), and `skiff run --rm` touches some 290 heap pages: about 3.5 ms of a 21 ms run. A
// huge page maps 2 MiB at once. This package asks the kernel to collapse the 2 MiB the heap has
// started in into one huge page (copying the pages the Go runtime has touched so far) and to
// back the next 2 MiB with one when it is first touched (measured: run --rm 1.3-1.8 ms faster
// there; `images` and `--version`, which touch fewer pages, within noise).
//
// The two huge pages hold all of a short command's heap when the heap starts at the beginning of
// its first 4 MiB chunk, as it does when Go's heap base randomization is off (the lean skiff's
// build, see the Makefile). With a random start the heap often runs into the next chunk, which
// the Go runtime maps later as a mapping of its own, without the advice.
//
// It imports nothing but syscall and unsafe, so that it is initialised early, before the
// packages whose initialisation allocates. Every call is advice: on kernels without
// MADV_COLLAPSE (before 6.1), with transparent huge pages set to "never", or where the range is
// not all heap, the kernel refuses and nothing changes.
package hugepage

import (
	"syscall"
	"unsafe"
)

const (
	size         = 2 << 20 // one huge page on x86-64 and arm64 (4 KiB pages)
	madvHugepage = 14      // MADV_HUGEPAGE
	madvCollapse = 25      // MADV_COLLAPSE
)

// probe is a heap object: where it is allocated tells where the heap is.
var probe *[16]byte

func init() { backHeap() }

// backHeap advises huge pages for the 2 MiB of the heap that holds a new object and the 2 MiB
// after it, and collapses the first into a huge page now.
func backHeap() (advised, collapsed syscall.Errno) {
	probe = new([16]byte)
	start := uintptr(unsafe.Pointer(probe)) &^ (size - 1)
	_, _, advised = syscall.Syscall(syscall.SYS_MADVISE, start, 2*size, madvHugepage)
	_, _, collapsed = syscall.Syscall(syscall.SYS_MADVISE, start, size, madvCollapse)
	return advised, collapsed
}
