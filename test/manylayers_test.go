package integration

import (
	"archive/tar"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// manyLayers is the busybox root file system and n small layers on it, each adding
// /layers/lN; the first adds /layers/gone, which the last deletes (a whiteout).
func manyLayers(t *testing.T, n int) []regLayer {
	base, err := os.ReadFile(bbTar)
	if err != nil {
		t.Fatal(err)
	}
	ls := []regLayer{{raw: base}}
	for i := 1; i <= n; i++ {
		l := regLayer{entries: []regEntry{{name: fmt.Sprintf("layers/l%d", i), typ: tar.TypeReg, mode: 0o644, body: []byte(fmt.Sprintf("layer %d\n", i))}}}
		if i == 1 {
			l.entries = append(l.entries, regEntry{name: "layers/gone", typ: tar.TypeReg, mode: 0o644})
		}
		if i == n {
			l.entries = append(l.entries, regEntry{name: "layers/.wh.gone", typ: tar.TypeReg, mode: 0o644})
		}
		ls = append(ls, l)
	}
	return ls
}

// TestManyLayers runs an image of 71 layers: their lowerdir list is longer than the one page
// mount options may fill, so skiff-init mounts the overlay with the store's short layer links.
func TestManyLayers(t *testing.T) {
	dir := filepath.Join(tmpRoot, "many-oci")
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		if _, err := writeOCILayout(dir, []regImage{{ref: "localhost/manylayers:latest", layers: manyLayers(t, 70)}}); err != nil {
			t.Fatal(err)
		}
	}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		m.mustSkiff(t, "load", "-q", "-i", dir)
		r := m.mustSkiff(t, "run", "--rm", "manylayers", "sh", "-c", "cat /layers/l1 /layers/l70; ls /layers | wc -l; test -e /layers/gone || echo whited-out; echo w > /layers/new && cat /layers/new")
		if got := strings.Fields(r.stdout); strings.Join(got, " ") != "layer 1 layer 70 70 whited-out w" {
			t.Errorf("in a 71-layer container: %q", r.stdout)
		}
		m.mustSkiff(t, "rmi", "manylayers")
	})
}

// TestVFSStore runs containers from a vfs store (no overlay): each gets a copy of its image.
func TestVFSStore(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		root := filepath.Join(tmpRoot, "vfs-"+m.name)
		os.RemoveAll(root)
		os.MkdirAll(root, 0o777)
		os.Chmod(root, 0o777)
		g := []string{"--root", filepath.Join(root, "store"), "--storage-driver", "vfs"}
		m.mustSkiff(t, append(g, "import", bbTar, "vfsbb")...)
		r := m.mustSkiff(t, append(g, "run", "--rm", "-u", "user", "vfsbb", "sh", "-c", "id -un; touch /tmp/x && echo ok")...)
		if strings.Fields(r.stdout)[0] != "user" || !strings.Contains(r.stdout, "ok") {
			t.Errorf("run from a vfs store: %q", r.stdout)
		}
		m.mustSkiff(t, append(g, "run", "--name", "vfskeep", "vfsbb", "sh", "-c", "echo kept > /kept")...)
		if r := m.mustSkiff(t, append(g, "ps", "-a", "--format", "{{.Names}} {{.State}}")...); strings.TrimSpace(r.stdout) != "vfskeep exited" {
			t.Errorf("ps -a: %q", r.stdout)
		}
		m.mustSkiff(t, append(g, "rm", "vfskeep")...)
		m.mustSkiff(t, append(g, "rmi", "vfsbb")...)
		os.RemoveAll(root)
	})
}

// TestLoadOCINames: an OCI layout's image named by a bare name loads as localhost/NAME:latest,
// one without a name loads under its ID.
func TestLoadOCINames(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		for ref, want := range map[string]string{"barename": "localhost/barename:latest", "": ""} {
			dir := filepath.Join(tmpRoot, "oci-names-"+m.name+ref)
			os.RemoveAll(dir)
			ids, err := writeOCILayout(dir, []regImage{{ref: ref, layers: manyLayers(t, 2)}})
			if err != nil {
				t.Fatal(err)
			}
			r := m.mustSkiff(t, "load", "-i", dir)
			if want != "" && !strings.Contains(r.stdout, "Loaded image: "+want) {
				t.Errorf("load of %q: %q, want %s", ref, r.stdout, want)
			}
			if want == "" && !strings.Contains(r.stdout, strings.TrimPrefix(ids[0], "sha256:")) {
				t.Errorf("load of an unnamed image: %q, want its ID %s", r.stdout, ids[0])
			}
			m.mustSkiff(t, "rmi", "-f", strings.TrimPrefix(ids[0], "sha256:"))
		}
	})
}

// TestNoInheritedFDs: the command gets stdin, stdout and stderr, not the descriptors the caller
// of skiff left open without close-on-exec.
func TestNoInheritedFDs(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		r := m.exec(opts{}, "sh", "-c", "exec 7</dev/null 9</dev/null; exec "+skiffBin+" run --rm bbtest ls /proc/self/fd")
		// ls's own directory descriptor is 3
		if r.code != 0 || strings.Join(strings.Fields(r.stdout), " ") != "0 1 2 3" {
			t.Errorf("descriptors in the container: %v", r)
		}
	})
}

// TestMaskedPaths: docker's masked paths hide what they cover (files behind /dev/null, here
// /proc/timer_list, as this kernel has no /proc/kcore; directories behind an empty read-only
// tmpfs) and its read-only paths refuse writes.
func TestMaskedPaths(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		script := `for d in /proc/acpi /sys/firmware; do [ -d $d ] && { [ -z "$(ls -A $d)" ] && echo "$d empty"; touch $d/x 2>/dev/null || echo "$d ro"; }; done
wc -c < /proc/timer_list; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo "sys ro"`
		r := m.mustSkiff(t, "run", "--rm", "bbtest", "sh", "-c", script)
		for _, want := range []string{"/sys/firmware empty", "/sys/firmware ro", "sys ro"} {
			if !strings.Contains(r.stdout, want) {
				t.Errorf("masked paths: %q lacks %q", r.stdout, want)
			}
		}
		if f := strings.Fields(r.stdout); !contains(f, "0") {
			t.Errorf("/proc/timer_list is not masked: %q", r.stdout)
		}
		if strings.Contains(r.stdout, "/proc/acpi") && !strings.Contains(r.stdout, "/proc/acpi empty") {
			t.Errorf("/proc/acpi not masked: %q", r.stdout)
		}
	})
}
