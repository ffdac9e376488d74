package hugepage

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// TestBackHeap checks that the heap the package found is backed by a huge page, where the kernel
// can do it.
func TestBackHeap(t *testing.T) {
	if b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/enabled"); err != nil || strings.Contains(string(b), "[never]") {
		t.Skipf("transparent huge pages are off here (%q, %v): nothing to back the heap with", b, err)
	}
	advised, collapsed := backHeap()
	if advised != 0 && advised != syscall.ENOMEM { // ENOMEM: part of the 4 MiB is not mapped yet
		t.Fatalf("MADV_HUGEPAGE on the heap: %v", advised)
	}
	if collapsed == syscall.EINVAL {
		t.Skipf("MADV_COLLAPSE refused (a kernel before 6.1): %v", collapsed)
	}
	if collapsed != 0 {
		t.Fatalf("MADV_COLLAPSE on the heap: %v", collapsed)
	}
	addr := uintptr(unsafe.Pointer(probe))
	huge, err := anonHuge(addr)
	if err != nil {
		t.Fatal(err)
	}
	if huge < size>>10 {
		t.Fatalf("the mapping of the heap at %#x has %d KiB in huge pages, want at least %d", addr, huge, size>>10)
	}
}

// anonHuge reads the AnonHugePages of the mapping that holds addr from /proc/self/smaps.
func anonHuge(addr uintptr) (int, error) {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) > 0 && !strings.HasSuffix(f[0], ":") { // "lo-hi perms ..."
			var lo, hi uintptr
			if _, err := fmt.Sscanf(f[0], "%x-%x", &lo, &hi); err != nil {
				return 0, fmt.Errorf("/proc/self/smaps: %q: %w", line, err)
			}
			in = lo <= addr && addr < hi
			continue
		}
		var kb int
		if in && strings.HasPrefix(line, "AnonHugePages:") {
			if _, err := fmt.Sscanf(strings.TrimPrefix(line, "AnonHugePages:"), "%d", &kb); err != nil {
				return 0, err
			}
			return kb, nil
		}
	}
	return 0, fmt.Errorf("no mapping holds %#x in /proc/self/smaps", addr)
}
