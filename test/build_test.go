package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildDir makes a build context of the mode's user with files (name → content).
func buildDir(t *testing.T, m *mode, name string, files map[string]string) string {
	t.Helper()
	d := hostDir(t, m, name)
	for n, content := range files {
		p := filepath.Join(d, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		os.Chown(filepath.Dir(p), m.uid, m.gid)
		os.Chown(p, m.uid, m.gid)
	}
	return d
}

const buildDockerfile = `# every instruction skiff builds
ARG BASE=bbtest
FROM $BASE AS base
ARG GREETING=hi
ENV APP=/app \
    MODE=test
WORKDIR $APP
COPY f.txt .
COPY --chown=1000:1000 --chmod=640 f.txt owned.txt
RUN echo $GREETING > greet && mkdir -p /out && cp f.txt /out/ && rm -f /bin/false
COPY . /ctx
RUN <<EOF
echo heredoc-one > /out/h
echo heredoc-two >> /out/h
EOF

FROM bbtest
LABEL org.test.kind=final other="two words"
EXPOSE 8080 53/udp
COPY --from=base /out /out
COPY --from=base /app/greet /app/owned.txt /data/
COPY --from=bbtest /bin/busybox /opt/busybox
VOLUME /vol
STOPSIGNAL SIGINT
HEALTHCHECK --interval=5s CMD true
SHELL ["/bin/sh", "-c"]
ONBUILD RUN echo child
USER 1000
WORKDIR /out
CMD ["cat", "/out/f.txt"]
`

func TestBuild(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		ctx := buildDir(t, m, "build", map[string]string{
			"Dockerfile":    buildDockerfile,
			"f.txt":         "data\n",
			"skip.txt":      "secret\n",
			"sub/keep.md":   "keep\n",
			"sub/drop.md":   "drop\n",
			".dockerignore": "skip.txt\nsub/*.md\n!sub/keep.md\n",
		})
		img := "localhost/buildtest-" + m.name
		r := m.skiff("build", "-t", img, ctx)
		if r.code != 0 {
			t.Fatalf("build: %v", r)
		}
		id := lines(r.stdout)[len(lines(r.stdout))-1]
		if !strings.Contains(r.stdout+r.stderr, "STEP 1/") {
			t.Errorf("build prints no steps: %v", r)
		}
		// the image runs as built
		if r := m.skiff("run", "--rm", img); norm(r.stdout) != "data" {
			t.Errorf("CMD of the built image: %v", r)
		}
		if r := m.skiff("run", "--rm", img, "id", "-u"); norm(r.stdout) != "1000" {
			t.Errorf("USER 1000: %v", r)
		}
		checks := map[string]string{
			"pwd":                              "/out",
			"/opt/busybox echo from-image":     "from-image",
			"cat /out/h":                       "heredoc-one\nheredoc-two",
			"cat /data/greet":                  "hi",
			"stat -c %u:%g:%a /data/owned.txt": "1000:1000:640",
		}
		for cmd, want := range checks {
			if r := m.skiff("run", "--rm", "--user", "0", img, "sh", "-c", cmd); strings.TrimSpace(r.stdout) != want {
				t.Errorf("%s in the built image: want %q: %v", cmd, want, r)
			}
		}
		// the first stage: .dockerignore and the RUN's deletion
		base := img + "-base"
		if r := m.skiff("build", "-q", "--target", "base", "-t", base, ctx); r.code != 0 {
			t.Fatalf("build --target base: %v", r)
		}
		if r := m.skiff("run", "--rm", base, "sh", "-c", "ls /ctx /ctx/sub; ls /bin/false 2>/dev/null || echo no-false; echo $APP $MODE"); r.code != 0 ||
			strings.Contains(r.stdout, "skip.txt") || strings.Contains(r.stdout, "drop.md") || !strings.Contains(r.stdout, "keep.md") ||
			!strings.Contains(r.stdout, "no-false") || !strings.Contains(r.stdout, "/app test") {
			t.Errorf("stage base: .dockerignore, a deleted file, ENV: %v", r)
		}
		// the configuration
		for format, want := range map[string]string{
			"{{.Config.User}}":                           "1000",
			"{{.Config.WorkingDir}}":                     "/out",
			"{{.Config.StopSignal}}":                     "SIGINT",
			"{{index .Config.Labels \"org.test.kind\"}}": "final",
			"{{index .Config.Labels \"other\"}}":         "two words",
			"{{len .Config.ExposedPorts}}":               "2",
			"{{len .Config.Volumes}}":                    "1",
			"{{.Config.Cmd}}":                            "[cat /out/f.txt]",
			"{{index .Config.Healthcheck.Test 1}} {{json .Config.Healthcheck.Interval}}": "true 5000000000",
			"{{.Config.OnBuild}}": "[RUN echo child]",
			"{{.Config.Shell}}":   "[/bin/sh -c]",
		} {
			if r := m.skiff("inspect", "--format", format, img); norm(r.stdout) != want {
				t.Errorf("inspect %s: want %q: %v", format, want, r)
			}
		}

		// a second build comes from the cache, whole
		r2 := m.skiff("build", "-t", img, ctx)
		if r2.code != 0 || !strings.Contains(r2.stdout+r2.stderr, "Using cache") || lines(r2.stdout)[len(lines(r2.stdout))-1] != id {
			t.Errorf("rebuild: want every step from the cache and the same image %s: %v", id, r2)
		}
		// a changed file rebuilds from its COPY on; an ignored one changes nothing
		os.WriteFile(filepath.Join(ctx, "skip.txt"), []byte("other secret\n"), 0o644)
		if r := m.skiff("build", "-q", "-t", img, ctx); lines(r.stdout)[len(lines(r.stdout))-1] != id {
			t.Errorf("a change to an ignored file gave another image: %v", r)
		}
		os.WriteFile(filepath.Join(ctx, "f.txt"), []byte("new data\n"), 0o644)
		r3 := m.skiff("build", "-t", img, ctx)
		if r3.code != 0 || lines(r3.stdout)[len(lines(r3.stdout))-1] == id {
			t.Errorf("a changed COPY source did not give a new image: %v", r3)
		}
		if out := r3.stdout + r3.stderr; !strings.Contains(out, "Using cache") || strings.Count(out, "Using cache") > 4 {
			t.Errorf("a changed COPY source: want the steps before it from the cache, not those after: %v", r3)
		}
		if r := m.skiff("run", "--rm", img); norm(r.stdout) != "new data" {
			t.Errorf("the rebuilt image: %v", r)
		}
		// a build-arg reaches RUN and its cache
		if r := m.skiff("build", "-q", "--build-arg", "GREETING=hello", "-t", img, ctx); r.code != 0 {
			t.Fatalf("build --build-arg: %v", r)
		}
		if r := m.skiff("run", "--rm", img, "cat", "/data/greet"); norm(r.stdout) != "hello" {
			t.Errorf("--build-arg GREETING=hello: %v", r)
		}

		// reproducible: two builds without the cache make the same layers
		layers := func(name string) string {
			return norm(m.skiff("inspect", "--format", "{{.RootFS.Layers}}", name).stdout)
		}
		m.mustSkiff(t, "build", "-q", "--no-cache", "-t", img+"-a", ctx)
		m.mustSkiff(t, "build", "-q", "--no-cache", "-t", img+"-b", ctx)
		if a, b := layers(img+"-a"), layers(img+"-b"); a == "" || a != b {
			t.Errorf("two --no-cache builds: layers %s and %s differ", a, b)
		}
		// with --timestamp the whole image is reproducible: same ID, its creation time
		dir := hostDir(t, m, "iid")
		ids := []string{}
		for i, tag := range []string{img + "-ts1", img + "-ts2"} {
			iid := filepath.Join(dir, fmt.Sprint("iid", i))
			m.mustSkiff(t, "build", "-q", "--no-cache", "--timestamp", "1700000000", "--label", "built=by-test", "--iidfile", iid, "-t", tag, ctx)
			b, _ := os.ReadFile(iid)
			ids = append(ids, string(b))
		}
		if ids[0] == "" || ids[0] != ids[1] || !strings.HasPrefix(ids[0], "sha256:") {
			t.Errorf("two --no-cache builds with --timestamp: image IDs (--iidfile) %q and %q", ids[0], ids[1])
		}
		if r := m.skiff("inspect", "--format", "{{.Created}} {{index .Config.Labels \"built\"}}", img+"-ts1"); norm(r.stdout) != "2023-11-14T22:13:20Z by-test" {
			t.Errorf("--timestamp and --label: %v", r)
		}
		// diff of an image: its top layer over the ones below
		if r := m.skiff("diff", img); !contains(lines(r.stdout), "A /opt/busybox") {
			t.Errorf("diff of the built image's top layer: %v", r)
		}
		for _, n := range []string{img, base, img + "-a", img + "-b", img + "-ts1", img + "-ts2"} {
			m.skiff("rmi", "-f", n)
		}
	})
}

func TestBuildErrors(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		ctx := buildDir(t, m, "buildbad", map[string]string{
			"Dockerfile": "FROM bbtest\nRUN echo boom-output; exit 7\n",
			"Remote":     "FROM bbtest\nADD http://127.0.0.1:9/x.tar /x\n",
			"Syntax":     "FROM bbtest\nFOO bar\n",
			"Missing":    "FROM bbtest\nCOPY nothere.txt /x\n",
			"Escape":     "FROM bbtest\nCOPY ../outside /x\n",
			"NoImage":    "FROM no-such-image-here-x\n",
			"Scratch":    "FROM scratch\nRUN true\n",
		})
		before := m.imagesSnapshot(t)
		img := "localhost/buildbad-" + m.name
		cases := []struct{ file, want string }{
			{"Dockerfile", "code 7"},
			{"Remote", "cannot download it"}, // port 9 (discard) does not answer HTTP here
			{"Syntax", "Syntax:2"},
			{"Missing", "nothere.txt"},
			{"Escape", "outside"},
			{"NoImage", "no-such-image-here-x"},
			{"Scratch", "scratch"},
		}
		for _, c := range cases {
			r := m.skiff("build", "--pull=false", "-f", filepath.Join(ctx, c.file), "-t", img, ctx)
			if r.code == 0 || !strings.Contains(r.stderr, c.want) {
				t.Errorf("build -f %s: want a failure naming %q: %v", c.file, c.want, r)
			}
		}
		if r := m.skiff("build", "-f", filepath.Join(ctx, "Dockerfile"), ctx); !strings.Contains(r.stdout+r.stderr, "boom-output") {
			t.Errorf("a failing RUN's output is not shown: %v", r)
		}
		if r := m.skiff("build", "--platform", "linux/s390x", ctx); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "platform") {
			t.Errorf("build --platform of another machine: %v", r)
		}
		if r := m.skiff("build", "-q", "-t", img, "/no/such/dir"); checkOneLineError(r) != "" {
			t.Errorf("build of a missing context: %v", r)
		}
		if after := m.imagesSnapshot(t); after != before {
			t.Errorf("failed builds changed the images:\nbefore %s\nafter %s", before, after)
		}
	})
}

func TestCommitDiffExport(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "commit-" + m.name
		img := "localhost/committed-" + m.name
		m.skiff("rm", "-f", name)
		m.mustSkiff(t, "run", "--name", name, "bbtest", "sh", "-c", "echo x > /newfile && rm /bin/false && echo more >> /etc/passwd")
		r := m.mustSkiff(t, "diff", name)
		for _, want := range []string{"A /newfile", "D /bin/false", "C /etc/passwd", "C /etc", "C /bin"} {
			if !contains(lines(r.stdout), want) {
				t.Errorf("diff: want %q: %v", want, r)
			}
		}
		if strings.Contains(r.stdout, "/etc/hosts") || strings.Contains(r.stdout, "/proc") {
			t.Errorf("diff lists skiff's mount points: %v", r)
		}
		m.mustSkiff(t, "commit", "-c", "CMD [\"cat\", \"/newfile\"]", "-m", "a message", name, img)
		if r := m.skiff("run", "--rm", img); norm(r.stdout) != "x" {
			t.Errorf("run the committed image: %v", r)
		}
		if r := m.skiff("run", "--rm", img, "sh", "-c", "ls /bin/false 2>/dev/null || echo gone"); norm(r.stdout) != "gone" {
			t.Errorf("a deleted file came back in the committed image: %v", r)
		}
		// export, then import the archive as an image
		dir := hostDir(t, m, "export")
		tarball := filepath.Join(dir, "c.tar")
		m.mustSkiff(t, "export", "-o", tarball, name)
		m.mustSkiff(t, "import", tarball, img+"-imported")
		if r := m.skiff("run", "--rm", img+"-imported", "sh", "-c", "cat /newfile; ls /bin/false 2>/dev/null || echo gone"); norm(r.stdout) != "x\ngone" {
			t.Errorf("run the imported export: %v", r)
		}
		if r := m.skiff("diff", "no-such-container-x"); checkOneLineError(r) != "" {
			t.Errorf("diff of a missing container: %v", r)
		}
		m.skiff("rm", "-f", name)
		m.skiff("rmi", "-f", img, img+"-imported")
	})
}

func TestBuildInputs(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		// ADD unpacks a local archive; a file that is no archive is copied as it is
		var buf bytes.Buffer
		gz := gzip.NewWriter(&buf)
		tw := tar.NewWriter(gz)
		for _, f := range []struct{ name, body string }{{"pkg/", ""}, {"pkg/a.txt", "from the archive\n"}} {
			h := &tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg}
			if strings.HasSuffix(f.name, "/") {
				h.Typeflag, h.Mode = tar.TypeDir, 0o755
			}
			tw.WriteHeader(h)
			tw.Write([]byte(f.body))
		}
		tw.Close()
		gz.Close()
		ctx := buildDir(t, m, "buildadd", map[string]string{
			"Dockerfile": "FROM bbtest\nADD a.tgz /opt/\nADD plain.txt /opt/plain.txt\n",
			"a.tgz":      buf.String(),
			"plain.txt":  "plain\n",
		})
		img := "localhost/buildinputs-" + m.name
		m.mustSkiff(t, "build", "-q", "-t", img, ctx)
		if r := m.skiff("run", "--rm", img, "cat", "/opt/pkg/a.txt", "/opt/plain.txt"); norm(r.stdout) != "from the archive\nplain" {
			t.Errorf("ADD of an archive and a plain file: %v", r)
		}
		// a bare Dockerfile on stdin, and a tar context on stdin
		if r := m.skiffIn("FROM bbtest\nRUN echo stdin > /s\n", "build", "-q", "-t", img+"-stdin", "-"); r.code != 0 {
			t.Errorf("build - with a Dockerfile on stdin: %v", r)
		} else if r := m.skiff("run", "--rm", img+"-stdin", "cat", "/s"); norm(r.stdout) != "stdin" {
			t.Errorf("the image built from stdin: %v", r)
		}
		buf.Reset()
		tw = tar.NewWriter(&buf)
		for _, f := range []struct{ name, body string }{{"Dockerfile", "FROM bbtest\nCOPY x.txt /x.txt\n"}, {"x.txt", "in the tar\n"}} {
			tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o644, Size: int64(len(f.body)), Typeflag: tar.TypeReg})
			tw.Write([]byte(f.body))
		}
		tw.Close()
		if r := m.skiffIn(buf.String(), "build", "-q", "-t", img+"-tar", "-"); r.code != 0 {
			t.Errorf("build - with a tar context on stdin: %v", r)
		} else if r := m.skiff("run", "--rm", img+"-tar", "cat", "/x.txt"); norm(r.stdout) != "in the tar" {
			t.Errorf("the image built from a tar on stdin: %v", r)
		}
		// FROM scratch: an image of what COPY puts in
		scratch := buildDir(t, m, "buildscratch", map[string]string{"Dockerfile": "FROM scratch\nCOPY --from=bbtest /bin/busybox /busybox\nCMD [\"/busybox\", \"echo\", \"from-scratch\"]\n"})
		m.mustSkiff(t, "build", "-q", "-t", img+"-scratch", scratch)
		if r := m.skiff("run", "--rm", img+"-scratch"); norm(r.stdout) != "from-scratch" {
			t.Errorf("an image built FROM scratch: %v", r)
		}
		if r := m.skiff("inspect", "--format", "{{len .RootFS.Layers}}", img+"-scratch"); norm(r.stdout) != "1" {
			t.Errorf("FROM scratch with one COPY: want one layer: %v", r)
		}
		// SOURCE_DATE_EPOCH is the creation time, as --timestamp
		env := m.exec(opts{}, "env", "SOURCE_DATE_EPOCH=1600000000", skiffBin, "build", "-q", "--no-cache", "-t", img+"-sde", scratch)
		if env.code != 0 {
			t.Errorf("build with SOURCE_DATE_EPOCH: %v", env)
		} else if r := m.skiff("inspect", "--format", "{{.Created}}", img+"-sde"); norm(r.stdout) != "2020-09-13T12:26:40Z" {
			t.Errorf("SOURCE_DATE_EPOCH=1600000000: created %v", r)
		}
		// RUN's network: none has only lo; the default is pasta's eth0, as run's
		nets := buildDir(t, m, "buildnet", map[string]string{"Dockerfile": "FROM bbtest\nRUN ls /sys/class/net > /nets\n"})
		for _, c := range []struct{ network, tag string }{{"none", "-none"}, {"default", "-default"}} {
			m.mustSkiff(t, "build", "-q", "--network", c.network, "-t", img+c.tag, nets)
		}
		if r := m.skiff("run", "--rm", img+"-none", "cat", "/nets"); norm(r.stdout) != "lo" {
			t.Errorf("build --network none: want only lo: %v", r)
		}
		if r := m.skiff("run", "--rm", img+"-default", "cat", "/nets"); norm(r.stdout) != "eth0\nlo" {
			t.Errorf("build's default network: want eth0 and lo: %v", r)
		}
		if r := m.skiff("build", "--network", "slirp", nets); checkOneLineError(r) != "" {
			t.Errorf("build --network slirp: %v", r)
		}
		// a build killed in a RUN leaves the store usable and no step container behind
		slow := buildDir(t, m, "buildkill", map[string]string{"Dockerfile": "FROM bbtest\nRUN echo before > /b\nRUN sleep 31\n"})
		s := m.start(t, "build", "-t", img+"-killed", slow)
		if !waitFor(20*time.Second, func() bool { return len(procsMatching("sleep", "31")) > 0 }) {
			t.Errorf("the slow build did not reach its RUN sleep")
		}
		time.Sleep(300 * time.Millisecond)
		syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
		s.wait(t, 10*time.Second)
		if r := m.skiff("images"); r.code != 0 || strings.Contains(r.stdout, "buildinputs-"+m.name+"-killed") {
			t.Errorf("images after a killed build: %v", r)
		}
		if !waitFor(5*time.Second, func() bool { return len(procsMatching("sleep", "31")) == 0 }) {
			t.Errorf("the killed build's RUN outlived it: %v", procsMatching("sleep", "31"))
		}
		if r := m.skiff("ps", "-a", "-q"); r.code != 0 {
			t.Errorf("ps after a killed build: %v", r)
		}
		if left := storeLeftovers(m); len(left) > 0 {
			t.Errorf("a killed build left %v", left)
		}
		// the cache of the steps before it is still good
		os.WriteFile(filepath.Join(slow, "Dockerfile"), []byte("FROM bbtest\nRUN echo before > /b\nRUN true\n"), 0o644)
		if r := m.skiff("build", "-t", img+"-killed", slow); r.code != 0 || !strings.Contains(r.stderr+r.stdout, "Using cache") {
			t.Errorf("rebuild after a killed build: want its first RUN from the cache: %v", r)
		}
		for _, n := range []string{img, img + "-stdin", img + "-tar", img + "-killed", img + "-none", img + "-default", img + "-scratch", img + "-sde"} {
			m.skiff("rmi", "-f", n)
		}
	})
}

// TestBuildCachePrune: builder prune empties the cache and removes the layers only it kept
// (here those of a first stage the image does not contain); images keep theirs.
func TestBuildCachePrune(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		ctx := buildDir(t, m, "buildprune", map[string]string{
			"Dockerfile": "FROM bbtest AS first\nRUN echo " + m.name + "-prune > /p\nRUN cp /p /q\n" +
				"FROM bbtest\nCOPY --from=first /q /q\n",
		})
		img := "localhost/buildprune-" + m.name
		layers := func() int {
			ents, _ := os.ReadDir(filepath.Join(m.storeDir(), "overlay"))
			return len(ents)
		}
		m.mustSkiff(t, "builder", "prune", "-f") // what earlier tests' builds left
		m.mustSkiff(t, "build", "-q", "-t", img, ctx)
		before := layers()
		if r := m.skiff("builder", "prune", "-f"); r.code != 0 || !strings.Contains(r.stdout, "Total reclaimed space") {
			t.Fatalf("builder prune: %v", r)
		}
		if after := layers(); after != before-2 {
			t.Errorf("builder prune: %d layer directories before, %d after: want the first stage's 2 gone", before, after)
		}
		if r := m.skiff("run", "--rm", img, "cat", "/q"); norm(r.stdout) != m.name+"-prune" {
			t.Errorf("the image after builder prune: %v", r)
		}
		if r := m.skiff("build", "-t", img, ctx); r.code != 0 || strings.Contains(r.stdout+r.stderr, "Using cache") {
			t.Errorf("a build after builder prune: want every step run again: %v", r)
		}
		m.skiff("rmi", "-f", img)
	})
}

// TestBuildPull: a FROM image that is missing is pulled; with --pull it is pulled again.
func TestBuildPull(t *testing.T) {
	rs := startRegistries(t)
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		ref := fmt.Sprintf("%s/%s/bbbuild:1", rs.plain.addr, m.name)
		m.mustSkiff(t, "push", "--tls-verify=false", "bbtest", ref)
		fresh := freshStore(t, m)
		ctx := buildDir(t, m, "buildpull", map[string]string{"Dockerfile": "FROM " + ref + "\nRUN echo pulled > /p\n"})
		manifests := func(mark int64) int {
			n := 0
			for _, q := range rs.plain.requestsSince(mark) {
				if strings.Contains(q.path, "/manifests/") {
					n++
				}
			}
			return n
		}
		mark := rs.plain.logMark()
		if r := m.skiff(append(fresh, "build", "-q", "--tls-verify=false", "-t", "pulled", ctx)...); r.code != 0 {
			t.Fatalf("build FROM a missing image: %v", r)
		}
		if manifests(mark) == 0 {
			t.Errorf("build FROM a missing image did not pull it")
		}
		if r := m.skiff(append(fresh, "run", "--rm", "pulled", "cat", "/p")...); norm(r.stdout) != "pulled" {
			t.Errorf("the image built on a pulled one: %v", r)
		}
		mark = rs.plain.logMark()
		m.mustSkiff(t, append(fresh, "build", "-q", "--tls-verify=false", "-t", "pulled", ctx)...)
		if n := manifests(mark); n != 0 {
			t.Errorf("build FROM a present image asked the registry %d times", n)
		}
		mark = rs.plain.logMark()
		m.mustSkiff(t, append(fresh, "build", "-q", "--pull", "--tls-verify=false", "-t", "pulled", ctx)...)
		if manifests(mark) == 0 {
			t.Errorf("build --pull did not ask the registry")
		}
	})
}
