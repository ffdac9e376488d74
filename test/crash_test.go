package integration

import (
	"archive/tar"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// bigTarball writes a root file system tarball large enough that importing it takes a while.
func bigTarball(t *testing.T) string {
	t.Helper()
	p := filepath.Join(tmpRoot, "big.tar")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	for i := 0; i < 48; i++ {
		name := "data/blob" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(buf)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		for j := range buf {
			buf[j] = byte(r.Uint32())
		}
		tw.Write(buf)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	os.Chmod(p, 0o644)
	return p
}

// TestKill9DuringImport kills `skiff import` at several points; the store must stay usable:
// images lists, the image appears only if the import had finished, and the import then works.
func TestKill9DuringImport(t *testing.T) {
	tarball := bigTarball(t)
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		m.skiff("rmi", "-f", "crashimg")
		before := m.imagesSnapshot(t)
		for _, delay := range []time.Duration{5 * time.Millisecond, 30 * time.Millisecond, 80 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond} {
			s := m.start(t, "import", tarball, "crashimg")
			time.Sleep(delay)
			syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
			s.wait(t, 10*time.Second)
			r := m.skiff("images", "--format", "{{.Repository}}:{{.Tag}}")
			if r.code != 0 {
				t.Fatalf("images after killing import at %v: %v", delay, r)
			}
			if strings.Contains(r.stdout, "crashimg") {
				// it finished before the kill: fine, start the next round clean
				m.mustSkiff(t, "rmi", "crashimg")
			}
			if after := m.imagesSnapshot(t); after != before {
				t.Fatalf("images changed after a killed import at %v:\nbefore %q\nafter  %q", delay, before, after)
			}
		}
		m.mustSkiff(t, "import", tarball, "crashimg")
		if r := m.skiff("run", "--rm", "crashimg", "/nonexistent"); r.code != 127 {
			t.Errorf("run of the re-imported image: %v", r)
		}
		m.mustSkiff(t, "rmi", "crashimg")
		if r := m.skiff("run", "--rm", "bbtest", "true"); r.code != 0 {
			t.Errorf("run after the killed imports: %v", r)
		}
	})
}

// TestMissingNewuidmap: with a subuid range but no usable newuidmap, skiff says to install uidmap.
func TestMissingNewuidmap(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to make newuidmap unusable for a test user")
	}
	tool, err := exec.LookPath("newuidmap")
	if err != nil {
		t.Fatalf("newuidmap is not installed: %v", err)
	}
	st, err := os.Stat(tool)
	if err != nil {
		t.Fatal(err)
	}
	m := rootlessMode
	// no kept namespace, so skiff must map a new one
	exec.Command("pkill", "-KILL", "-u", m.user, "-x", "skiff-pause").Run()
	time.Sleep(100 * time.Millisecond)
	if err := os.Chmod(tool, st.Mode()&^0o011|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	r := m.skiff("run", "--rm", "bbtest", "true")
	if err := os.Chmod(tool, st.Mode()); err != nil {
		t.Fatalf("restore %s: %v", tool, err)
	}
	if msg := checkOneLineError(r, 125); msg != "" {
		t.Errorf("without newuidmap: %s (%v)", msg, r)
	}
	if !strings.Contains(r.stderr, "newuidmap") || !strings.Contains(r.stderr, "uidmap") {
		t.Errorf("error does not name newuidmap and the uidmap package: %q", r.stderr)
	}
	if r := m.skiff("run", "--rm", "bbtest", "true"); r.code != 0 {
		t.Errorf("with newuidmap back: %v", r)
	}
}

// TestParallelFirstRuns starts 20 runs at once when the user has no kept user namespace yet:
// they race to create it, and all must succeed with one pause process left.
func TestParallelFirstRuns(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to kill the test user's pause process")
	}
	m := rootlessMode
	exec.Command("pkill", "-KILL", "-u", m.user, "-x", "skiff-pause").Run()
	time.Sleep(100 * time.Millisecond)
	res := m.parallel(20, func(int) []string { return []string{"run", "--rm", "bbtest", "true"} })
	for i, r := range res {
		if r.code != 0 {
			t.Errorf("first run %d: %v", i, r)
		}
	}
	out, _ := exec.Command("pgrep", "--runstates", "S,R,D", "-u", m.user, "-x", "skiff-pause").Output() // not zombies: PID 1 may not reap
	if n := len(strings.Fields(string(out))); n != 1 {
		t.Errorf("%d live pause processes for %s, want 1", n, m.user)
	}
}

// TestSecondDriverKeepsOverlay: using --storage-driver vfs once leaves vfs data beside the
// overlay data in the same store; later commands must go on with native overlay, never switch
// the store to fuse-overlayfs for good.
func TestSecondDriverKeepsOverlay(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		m.mustSkiff(t, "--storage-driver", "vfs", "images")
		if r := m.skiff("run", "--rm", "bbtest", "echo", "still-overlay"); r.code != 0 || norm(r.stdout) != "still-overlay" {
			t.Fatalf("run after a vfs command: %v", r)
		}
		r := m.mustSkiff(t, "info", "--format", "{{.Store.GraphDriver}}")
		if norm(r.stdout) != "overlay" {
			t.Errorf("driver after a vfs command: %q, want overlay", r.stdout)
		}
		if b, err := os.ReadFile(filepath.Join(m.storeDir(), "overlay", ".has-mount-program")); err == nil && strings.TrimSpace(string(b)) == "true" {
			t.Errorf("the store was switched to a mount program (fuse-overlayfs) although native overlay works")
		}
	})
}

// TestRmiInUse: rmi refuses an image a container uses, naming the container; -f removes both.
func TestRmiInUse(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		m.skiff("rm", "-f", "uses-img")
		m.skiff("rmi", "-f", "inuse")
		m.mustSkiff(t, "import", bbTar, "inuse")
		m.mustSkiff(t, "run", "--name", "uses-img", "inuse", "true")
		r := m.skiff("rmi", "inuse")
		if msg := checkOneLineError(r, 125); msg != "" {
			t.Errorf("rmi of an image in use: %s (%v)", msg, r)
		}
		if !strings.Contains(r.stderr, "container") {
			t.Errorf("the error does not mention the container: %q", r.stderr)
		}
		if r := m.mustSkiff(t, "images", "-q", "--filter", "reference=inuse"); norm(r.stdout) == "" {
			t.Errorf("the refused rmi removed the image")
		}
		m.mustSkiff(t, "rmi", "-f", "inuse")
		if r := m.mustSkiff(t, "ps", "-a", "--format", "{{.Names}}"); strings.Contains(r.stdout, "uses-img") {
			t.Errorf("rmi -f left the container that used the image: %q", r.stdout)
		}
	})
}
