package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var (
	debianOnce sync.Once
	debianTar  string
	debianSkip string // why there is no Debian image: Debian's packages cannot be reached
	debianErr  error
)

// debianRootfs is a minimal Debian bookworm root file system tarball made with debootstrap,
// once per machine (cached in /var/tmp/skiff-test-cache).
func debianRootfs(t *testing.T) string {
	t.Helper()
	debianOnce.Do(func() {
		cache := "/var/tmp/skiff-test-cache"
		out := filepath.Join(cache, "debian-bookworm.tar")
		if st, err := os.Stat(out); err == nil && st.Size() > 0 {
			debianTar = out
			return
		}
		if os.Getuid() != 0 {
			debianErr = fmt.Errorf("debootstrap needs root: run the tests as root (make test) once to make %s", out)
			return
		}
		if _, err := exec.LookPath("debootstrap"); err != nil {
			debianErr = fmt.Errorf("debootstrap is not installed: make test installs it")
			return
		}
		mirror := "http://deb.debian.org/debian"
		if b, err := os.ReadFile("/etc/apt/sources.list.d/debian.sources"); err == nil {
			for _, l := range strings.Split(string(b), "\n") {
				if u, ok := strings.CutPrefix(l, "URIs:"); ok && strings.TrimSpace(u) != "" {
					mirror = strings.Fields(u)[0]
					break
				}
			}
		}
		os.MkdirAll(cache, 0o755)
		root := filepath.Join(cache, "debian-root.tmp")
		os.RemoveAll(root)
		defer os.RemoveAll(root)
		if b, err := exec.Command("debootstrap", "--variant=minbase", "bookworm", root, mirror).CombinedOutput(); err != nil {
			ls := lines(string(b))
			last := ""
			if len(ls) > 0 {
				last = ls[len(ls)-1]
			}
			debianSkip = fmt.Sprintf("debootstrap from %s failed, Debian's packages cannot be reached: %s", mirror, last)
			return
		}
		if b, err := exec.Command("tar", "-C", root, "-cf", out+".tmp", ".").CombinedOutput(); err != nil {
			debianErr = fmt.Errorf("tar the Debian root: %s", b)
			return
		}
		os.Chmod(out+".tmp", 0o644)
		if err := os.Rename(out+".tmp", out); err != nil {
			debianErr = err
			return
		}
		debianTar = out
	})
	switch {
	case debianErr != nil:
		t.Fatalf("no Debian image: %v", debianErr)
	case debianSkip != "":
		t.Skip(debianSkip)
	}
	return debianTar
}

// TestBuildDebian builds on a Debian image the test makes with debootstrap: users and owners
// from the image's own tools, and a RUN that installs a package with apt-get over the network
// (RUN's default network: pasta, as run's).
func TestBuildDebian(t *testing.T) {
	tarball := debianRootfs(t)
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		m.mustSkiff(t, "import", "-q", tarball, "debtest")
		ctx := buildDir(t, m, "builddeb", map[string]string{
			"Dockerfile": `FROM debtest
RUN useradd -m -u 1234 app && mkdir /srv/data && chown app:app /srv/data
COPY --chown=app:app hello.txt /srv/data/
USER app
WORKDIR /home/app
RUN id -un > who && stat -c %u:%g /srv/data/hello.txt > owner
`,
			"Net": `FROM debtest
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends hello >/dev/null && hello > /greeting
`,
			"hello.txt": "hello\n",
		})
		img := "localhost/builddeb-" + m.name
		m.mustSkiff(t, "build", "-q", "-t", img, ctx)
		if r := m.skiff("run", "--rm", img, "sh", "-c", "cat who owner; id -u"); norm(r.stdout) != "app\n1234:1234\n1234" {
			t.Errorf("users on the Debian image: %v", r)
		}
		r := m.skiff("build", "-q", "-f", filepath.Join(ctx, "Net"), "-t", img+"-net", ctx)
		if r.code != 0 {
			t.Errorf("apt-get install in RUN (the default network, pasta): %v", r)
		} else if r := m.skiff("run", "--rm", img+"-net", "cat", "/greeting"); norm(r.stdout) != "Hello, world!" {
			t.Errorf("the package apt-get installed: %v", r)
		}
		m.skiff("rmi", "-f", img, img+"-net", "debtest")
	})
}
