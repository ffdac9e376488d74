package container

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/skiff-project/skiff/pkg/catalog"
	"golang.org/x/sys/unix"
)

func TestRecords(t *testing.T) {
	r := OpenRecords(t.TempDir())
	h, err := r.Create(Meta{Name: "web", Image: "bb", ImageID: "img1", Rootfs: RootfsOverlay})
	if err != nil {
		t.Fatal(err)
	}
	h.SetPid(4242, nil)
	if err := h.WriteState(State{Status: "running"}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"web", h.ID, h.ID[:12]} {
		in, err := r.Lookup(ref)
		if err != nil || in.ID != h.ID || !in.Running || in.State.Pid != 4242 || in.Names[0] != "web" {
			t.Errorf("Lookup(%q) = %+v, %v", ref, in, err)
		}
	}
	if _, err := r.Create(Meta{Name: "web"}); err == nil || !strings.Contains(err.Error(), "already in use") {
		t.Errorf("second container named web: %v", err)
	}
	g, err := r.Create(Meta{ImageID: "img2"})
	if err != nil || !strings.Contains(g.Meta.Name, "_") {
		t.Fatalf("generated name %q, %v", g.Meta.Name, err)
	}
	list, err := r.List()
	if err != nil || len(list) != 2 || list[0].ID != g.ID {
		t.Errorf("List = %+v, %v; want newest first", list, err)
	}
	if got := r.UsingImage("img1"); len(got) != 1 || got[0] != h.ID {
		t.Errorf("UsingImage(img1) = %v", got)
	}
	if used := r.UsedImages(); !used["img1"] || !used["img2"] || len(used) != 2 {
		t.Errorf("UsedImages = %v", used)
	}
	if _, err := r.Remove("web", false); err == nil || !strings.Contains(err.Error(), "running") {
		t.Errorf("rm of a running container without -f: %v", err)
	}
	// the keeper lets go: exited, and removable; the name is free again
	h.WriteState(State{Status: "exited", ExitCode: 3})
	h.Release()
	if in, _ := r.Lookup("web"); in.Running || in.State.Status != "exited" || in.State.ExitCode != 3 {
		t.Errorf("after release: %+v", in)
	}
	if _, err := r.Remove("web", false); err != nil {
		t.Fatal(err)
	}
	var nf *catalog.NotFoundError
	if _, err := r.Lookup("web"); !errors.As(err, &nf) {
		t.Errorf("removed container still found: %v", err)
	}
	if _, err := r.Create(Meta{Name: "web"}); err != nil {
		t.Errorf("name of a removed container not free: %v", err)
	}
	// an ambiguous prefix
	for i := 0; i < 40; i++ {
		if _, err := r.Create(Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Lookup("0"); err == nil || errors.As(err, &nf) {
		// 40 random IDs: the chance that none or exactly one starts with 0 is small but real
		if ids, _ := r.ids(); count(ids, "0") > 1 {
			t.Errorf("ambiguous prefix: %v", err)
		}
	}
	for _, bad := range []string{"", "../x", "a/b", "."} {
		if _, err := r.Lookup(bad); !errors.As(err, &nf) {
			t.Errorf("Lookup(%q) = %v, want not found", bad, err)
		}
	}
}

func count(ids []string, prefix string) int {
	n := 0
	for _, id := range ids {
		if strings.HasPrefix(id, prefix) {
			n++
		}
	}
	return n
}

// TestRecordsSweep: what a killed keeper leaves is finished by the next Sweep.
func TestRecordsSweep(t *testing.T) {
	r := OpenRecords(t.TempDir())
	kill := func(h *Handle) { h.running.Close() } // the kernel drops the flock of a dead process

	create := func(m Meta) *Handle {
		h, err := r.Create(m)
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	rm := create(Meta{Name: "gone", AutoRemove: true})
	kept := create(Meta{Name: "kept"})
	kept.WriteState(State{Status: "running"})
	live := create(Meta{Name: "live"})
	kill(rm)
	kill(kept)

	// half-made and half-removed directories of killed processes
	half := filepath.Join(r.Dir, ".new-"+NewID())
	os.MkdirAll(filepath.Join(half, "upper"), 0o700)
	old := time.Now().Add(-2 * time.Minute)
	os.Chtimes(half, old, old)
	young := filepath.Join(r.Dir, ".new-"+NewID()) // a creator at work: left alone
	os.MkdirAll(young, 0o700)
	gone := filepath.Join(r.Dir, ".rm-"+NewID()) // a remover at work holds its lock
	os.MkdirAll(filepath.Join(gone, "upper", "x"), 0o700)
	remover, err := os.Open(gone)
	if err != nil {
		t.Fatal(err)
	}
	unix.Flock(int(remover.Fd()), unix.LOCK_EX)
	dead := filepath.Join(r.Dir, ".rm-"+NewID()) // a killed remover's: no lock held
	os.MkdirAll(filepath.Join(dead, "upper", "x"), 0o700)
	// a name whose container is gone
	os.Symlink(NewID(), r.namePath("stale"))

	// while a creator is at work, directories without a running file stay
	creator, err := r.LockImages(false)
	if err != nil {
		t.Fatal(err)
	}
	cleaned := r.Sweep()
	for _, d := range []string{half, young} {
		if _, err := os.Stat(d); err != nil {
			t.Errorf("%s removed while a creator held the lock", filepath.Base(d))
		}
	}
	creator()
	os.Mkdir(filepath.Join(r.Dir, "x"), 0o700) // not a container: ignored
	cleaned = append(cleaned, r.Sweep()...)
	if len(cleaned) != 2 {
		t.Errorf("Sweep cleaned %v, want the two killed containers", cleaned)
	}
	if _, err := r.Lookup("gone"); err == nil {
		t.Error("killed --rm container still there")
	}
	if in, err := r.Lookup("kept"); err != nil || in.Running || in.State.Status != "exited" || in.State.ExitCode != 137 {
		t.Errorf("killed container: %+v, %v; want exited 137", in, err)
	}
	if in, err := r.Lookup("live"); err != nil || !in.Running {
		t.Errorf("live container: %+v, %v", in, err)
	}
	for _, d := range []string{half, young, dead} {
		if _, err := os.Stat(d); err == nil {
			t.Errorf("%s left", filepath.Base(d))
		}
	}
	if _, err := os.Stat(gone); err != nil {
		t.Error("a .rm- directory whose remover is at work was removed")
	}
	remover.Close() // the remover dies
	r.Sweep()
	if _, err := os.Stat(gone); err == nil {
		t.Error("the .rm- directory of a dead remover was left")
	}
	if _, err := r.Create(Meta{Name: "stale"}); err != nil {
		t.Errorf("a name whose container is gone is not free: %v", err)
	}
	live.Release()
}

// TestRecordsNameRace: of many creators of one name, exactly one wins.
func TestRecordsNameRace(t *testing.T) {
	r := OpenRecords(t.TempDir())
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := r.Create(Meta{Name: "one"}); err == nil {
				mu.Lock()
				won++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d creators got the name, want 1", won)
	}
	if list, _ := r.List(); len(list) != 1 {
		t.Errorf("%d containers, want 1", len(list))
	}
}

func TestSmallTree(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]int // path → size; a path ending in / is a directory
		want  bool
	}{
		{"empty", nil, true},
		{"skiff's own", map[string]int{"running": 6, "config.json": 900, "upper/etc/hosts": 0, "upper/etc/hostname": 0, "work/work/": 0}, true},
		{"one big file", map[string]int{"upper/big": 300 << 10}, false},
		{"many small files", func() map[string]int {
			m := map[string]int{}
			for i := 0; i < 40; i++ {
				m["upper/f"+strings.Repeat("x", i)] = 1
			}
			return m
		}(), false},
		{"deep but few", map[string]int{"a/b/c/d/e/f/": 0}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			for p, size := range c.files {
				full := filepath.Join(dir, p)
				if strings.HasSuffix(p, "/") {
					if err := os.MkdirAll(full, 0o700); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.MkdirAll(filepath.Dir(full), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(full, make([]byte, size), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if got := smallTree(dir, 32, 256<<10); got != c.want {
				t.Errorf("smallTree = %v, want %v", got, c.want)
			}
		})
	}
}

func TestReleased(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    bool          // a running file exists
		lockFor time.Duration // a keeper holds it this long (-1: past the timeout)
		timeout time.Duration
		want    bool
	}{
		{"no running file", false, 0, time.Second, true},
		{"kept by nobody", true, 0, time.Second, true},
		{"the keeper lets go", true, 20 * time.Millisecond, 30 * time.Second, true},
		{"the keeper stays", true, -1, 50 * time.Millisecond, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.file {
				if err := os.WriteFile(filepath.Join(dir, "running"), []byte("1\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.lockFor != 0 {
				// another open file description, as a keeper's in another process
				f, err := os.Open(filepath.Join(dir, "running"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
					t.Fatal(err)
				}
				if tc.lockFor > 0 {
					time.AfterFunc(tc.lockFor, func() { f.Close() })
				}
			}
			if got := released(dir, tc.timeout); got != tc.want {
				t.Errorf("released = %v, want %v", got, tc.want)
			}
		})
	}
}
