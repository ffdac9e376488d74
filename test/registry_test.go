package integration

// Registry, archive and image-management tests (issue 3): skiff against Debian's docker-registry
// (a plain HTTP one and one with htpasswd auth + TLS, both started by TestRegistry and stopped by
// PID when it ends), skopeo and podman. Every subtest runs in each mode with a full id range
// and removes the images it made.

import (
	"archive/tar"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// multiCheck prints what the multi-layer image holds; multiWant is what it must print.
const multiCheck = `cd /regdata && stat -c '%n %u:%g %a %h' owned hard setuid setgid userdir sym && readlink sym && cat sym && ` +
	`[ "$(stat -c %i owned)" = "$(stat -c %i hard)" ] && echo samefile; ls /opq; ls /regdata; ` +
	`if [ -e /regdata/gone ]; then echo gone-present; else echo gone-absent; fi; if [ -e /opq/old1 ]; then echo opq-leaked; fi`

const multiWant = "owned 1000:1000 640 2\nhard 1000:1000 640 2\nsetuid 0:0 4755 1\nsetgid 1000:1000 2750 1\n" +
	"userdir 1000:1000 700 2\nsym 0:0 777 1\nowned\nowned-content\nsamefile\nnew\n" +
	"added\nhard\nowned\nsetgid\nsetuid\nsym\nuserdir\ngone-absent"

const multiRef = "localhost/regmulti:1"

// layouts are the OCI image layouts the tests load, written once per TestRegistry.
type layouts struct {
	bb       []byte // the busybox rootfs tarball, the base layer of every layout
	multi    string // localhost/regmulti:1: busybox + files/owners/links + whiteouts
	multiID  string
	reuse    string // localhost/regbase:1 (busybox + A) and localhost/regchild:1 (+ B)
	reuseIDs []string

	bigOnce sync.Once
	big     string // localhost/regbig:1: busybox + 64 MiB of random data
	bigID   string
	bigErr  error
}

func multiLayers(bb []byte) []regLayer {
	dir := func(n string) regEntry { return regEntry{name: n, typ: tar.TypeDir, mode: 0o755} }
	file := func(n, body string, mode int64, id int) regEntry {
		return regEntry{name: n, typ: tar.TypeReg, mode: mode, uid: id, gid: id, body: []byte(body)}
	}
	return []regLayer{
		{raw: bb, gzip: true, createdBy: "regtest: busybox base"},
		{gzip: true, createdBy: "regtest: files, owners, links, setuid", entries: []regEntry{
			dir("regdata/"),
			file("regdata/owned", "owned-content\n", 0o640, 1000),
			{name: "regdata/hard", typ: tar.TypeLink, link: "regdata/owned", mode: 0o640, uid: 1000, gid: 1000},
			file("regdata/setuid", "#!/bin/sh\necho setuid\n", 0o4755, 0),
			file("regdata/setgid", "#!/bin/sh\necho setgid\n", 0o2750, 1000),
			{name: "regdata/userdir/", typ: tar.TypeDir, mode: 0o700, uid: 1000, gid: 1000},
			{name: "regdata/sym", typ: tar.TypeSymlink, link: "owned", mode: 0o777},
			file("regdata/gone", "to be removed\n", 0o644, 0),
			dir("opq/"),
			file("opq/old1", "old\n", 0o644, 0),
			file("opq/old2", "old\n", 0o644, 0),
		}},
		{gzip: false, createdBy: "regtest: whiteouts and opaque dir", entries: []regEntry{
			dir("regdata/"),
			file("regdata/.wh.gone", "", 0o644, 0),
			file("regdata/added", "added\n", 0o600, 0),
			dir("opq/"),
			file("opq/.wh..wh..opq", "", 0o644, 0),
			file("opq/new", "new\n", 0o644, 0),
		}},
	}
}

func makeLayouts(t *testing.T) *layouts {
	t.Helper()
	bb, err := os.ReadFile(bbTar)
	if err != nil {
		t.Fatal(err)
	}
	l := &layouts{bb: bb, multi: filepath.Join(tmpRoot, "layout-multi"), reuse: filepath.Join(tmpRoot, "layout-reuse")}
	ids, err := writeOCILayout(l.multi, []regImage{{ref: multiRef, layers: multiLayers(bb), labels: map[string]string{"regtest": "multi"}, emptyCmd: true}})
	if err != nil {
		t.Fatalf("write the multi-layer layout: %v", err)
	}
	l.multiID = ids[0]
	base := []regLayer{{raw: bb, gzip: true}, {gzip: true, createdBy: "regtest: layer A", entries: []regEntry{
		{name: "a.txt", typ: tar.TypeReg, mode: 0o644, body: randomBytes(64 << 10)}}}}
	child := append(append([]regLayer{}, base...), regLayer{gzip: true, createdBy: "regtest: layer B", entries: []regEntry{
		{name: "b.txt", typ: tar.TypeReg, mode: 0o644, body: randomBytes(64 << 10)}}})
	if l.reuseIDs, err = writeOCILayout(l.reuse, []regImage{{ref: "localhost/regbase:1", layers: base}, {ref: "localhost/regchild:1", layers: child}}); err != nil {
		t.Fatalf("write the base/child layout: %v", err)
	}
	return l
}

func (l *layouts) bigLayout(t *testing.T) string {
	t.Helper()
	l.bigOnce.Do(func() {
		l.big = filepath.Join(tmpRoot, "layout-big")
		var ids []string
		ids, l.bigErr = writeOCILayout(l.big, []regImage{{ref: "localhost/regbig:1", layers: []regLayer{
			{raw: l.bb, gzip: true},
			{createdBy: "regtest: 64 MiB", entries: []regEntry{{name: "big/blob", typ: tar.TypeReg, mode: 0o644, body: randomBytes(64 << 20)}}},
		}}})
		if l.bigErr == nil {
			l.bigID = ids[0]
		}
	})
	if l.bigErr != nil {
		t.Fatalf("write the big layout: %v", l.bigErr)
	}
	return l.big
}

// loadNames runs skiff load and returns the names of its "Loaded image: NAME" lines.
func loadNames(t testing.TB, m *mode, args ...string) []string {
	t.Helper()
	r := m.mustSkiff(t, append([]string{"load"}, args...)...)
	return loadedFrom(r.stdout)
}

func loadedFrom(stdout string) []string {
	var names []string
	for _, l := range lines(stdout) {
		if n, ok := strings.CutPrefix(l, "Loaded image: "); ok {
			names = append(names, n)
		}
	}
	return names
}

// cleanupImages removes names from the mode's store when the test ends.
func cleanupImages(t testing.TB, m *mode, names ...string) {
	t.Cleanup(func() { m.skiff(append([]string{"rmi", "-f"}, names...)...) })
}

// imageID is the full ID of an image in the store ("" when absent).
func imageID(t testing.TB, m *mode, pre []string, name string) string {
	t.Helper()
	r := m.skiff(append(pre, "inspect", "--format", "{{.Id}}", name)...)
	if r.code != 0 {
		return ""
	}
	return strings.TrimPrefix(norm(r.stdout), "sha256:")
}

// checkMulti runs the multi-layer image and compares what it holds with multiWant.
func checkMulti(t testing.TB, m *mode, pre []string, img, when string) {
	t.Helper()
	r := m.skiff(append(pre, "run", "--rm", img, "sh", "-c", multiCheck)...)
	if r.code != 0 || norm(r.stdout) != multiWant {
		t.Errorf("[%s] %s: content of %s differs:\n got: %q\nwant: %q\n%v", m.name, when, img, norm(r.stdout), multiWant, r)
	}
}

// freshStore gives global flags for an empty store of the mode's user (removed at the end).
func freshStore(t testing.TB, m *mode) []string {
	t.Helper()
	d := modeDir(t, m)
	return []string{"--root", filepath.Join(d, "root"), "--runroot", filepath.Join(d, "run")}
}

func wantOneLineError(t testing.TB, m *mode, what string, r result, mention ...string) {
	t.Helper()
	if p := checkOneLineError(r); p != "" {
		t.Errorf("[%s] %s: %s: %v", m.name, what, p, r)
		return
	}
	low := strings.ToLower(r.stderr)
	for _, s := range mention {
		alts := strings.Split(strings.ToLower(s), "|")
		ok := false
		for _, a := range alts {
			if strings.Contains(low, a) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("[%s] %s: the error does not mention %q: %v", m.name, what, s, r)
		}
	}
}

// wantErrorLast checks a failure that may print progress lines first: exit 125, exactly one
// "Error: " line, and it is the last line.
func wantErrorLast(t testing.TB, m *mode, what string, r result, mention ...string) {
	t.Helper()
	ls := lines(r.stderr)
	n := 0
	for _, l := range ls {
		if strings.Contains(l, "Error: ") {
			n++
		}
	}
	if !checkCode(r, 125) || n != 1 || !strings.HasPrefix(ls[len(ls)-1], "Error: ") {
		t.Errorf("[%s] %s: want exit 125 and one \"Error: \" line, the last: %v", m.name, what, r)
		return
	}
	wantOneLineError(t, m, what, result{code: 125, stderr: ls[len(ls)-1]}, mention...)
}

func TestRegistry(t *testing.T) {
	start := time.Now()
	rs := startRegistries(t)
	lay := makeLayouts(t)
	t.Logf("registries %s (plain) and %s (auth+TLS) up, layouts written in %v", rs.plain.addr, rs.auth.addr, time.Since(start).Round(time.Millisecond))
	P := rs.plain.addr
	A := rs.auth.addr
	insecure := "--tls-verify=false"

	t.Run("PushPullBusybox", func(t *testing.T) {
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			dest := fmt.Sprintf("%s/%s/bb:1", P, m.name)
			bbID := imageID(t, m, nil, "bbtest")
			if bbID == "" {
				t.Fatalf("[%s] no bbtest image", m.name)
			}
			m.mustSkiff(t, "push", insecure, "bbtest", dest)
			man := rs.plain.manifest(t, m.name+"/bb", "1")
			if len(man.Layers) != 1 {
				t.Errorf("[%s] pushed busybox manifest has %d layers, want 1: %s", m.name, len(man.Layers), man.Raw)
			}
			// pull into an empty store: every blob is downloaded
			fresh := freshStore(t, m)
			mark := rs.plain.logMark()
			r := m.mustSkiff(t, append(fresh, "pull", "-q", insecure, dest)...)
			if got := strings.TrimPrefix(norm(r.stdout), "sha256:"); got != bbID {
				t.Errorf("[%s] pull printed %q, want the pushed image's ID %s", m.name, r.stdout, bbID)
			}
			if r.stderr != "" {
				t.Errorf("[%s] pull -q wrote to stderr: %q", m.name, r.stderr)
			}
			gets := blobGets(rs.plain.requestsSince(mark))
			if len(gets) != 2 {
				t.Errorf("[%s] pull into an empty store: want 2 blob GETs (config + layer), got %v", m.name, gets)
			}
			r = m.skiff(append(fresh, "run", "--rm", dest, "sh", "-c", "echo round-trip; ls /bin/busybox")...)
			if r.code != 0 || norm(r.stdout) != "round-trip\n/bin/busybox" {
				t.Errorf("[%s] run of the pulled busybox: %v", m.name, r)
			}
			m.mustSkiff(t, append(fresh, "rmi", dest)...)
		})
	})

	t.Run("PushPullMultiLayer", func(t *testing.T) {
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			dest := fmt.Sprintf("%s/%s/multi:1", P, m.name)
			cleanupImages(t, m, multiRef, dest)
			if names := loadNames(t, m, "-i", lay.multi); len(names) != 1 || names[0] != multiRef {
				t.Fatalf("[%s] load of the OCI layout: names %q, want [%s]", m.name, names, multiRef)
			}
			if id := imageID(t, m, nil, multiRef); id != lay.multiID {
				t.Errorf("[%s] loaded image ID %q, want the config digest %s", m.name, id, lay.multiID)
			}
			checkMulti(t, m, nil, multiRef, "after load")
			m.mustSkiff(t, "push", insecure, multiRef, dest)
			man := rs.plain.manifest(t, m.name+"/multi", "1")
			if len(man.Layers) != 3 {
				t.Fatalf("[%s] pushed manifest has %d layers, want 3: %s", m.name, len(man.Layers), man.Raw)
			}
			m.mustSkiff(t, "rmi", multiRef)
			if names := m.imageNames(t); contains(names, multiRef) || contains(names, dest) {
				t.Fatalf("[%s] images still has the multi-layer image after rmi: %q", m.name, names)
			}
			r := m.mustSkiff(t, "pull", insecure, dest)
			if id := strings.TrimPrefix(norm(r.stdout), "sha256:"); id != lay.multiID {
				t.Errorf("[%s] pull printed %q, want %s", m.name, r.stdout, lay.multiID)
			}
			if strings.ContainsAny(r.stderr, "\r\x1b") {
				t.Errorf("[%s] pull without a terminal drew progress bars (CR or escape sequences) on stderr: %q", m.name, r.stderr)
			}
			checkMulti(t, m, nil, dest, "after push, rmi, pull")
			checkHostOwnership(t, m)

			// the manifest digest is recorded: images --digests, inspect .RepoDigests
			r = m.mustSkiff(t, "images", "--digests")
			found := false
			for _, l := range lines(r.stdout) {
				f := strings.Fields(l)
				if len(f) >= 4 && f[0] == P+"/"+m.name+"/multi" && f[1] == "1" && f[2] == man.Digest {
					found = true
				}
			}
			if !found {
				t.Errorf("[%s] images --digests has no row %s/%s/multi 1 %s:\n%s", m.name, P, m.name, man.Digest, r.stdout)
			}
			r = m.mustSkiff(t, "inspect", "--format", "{{.Id}} {{.RepoDigests}}", dest)
			want := fmt.Sprintf("%s [%s/%s/multi@%s]", lay.multiID, P, m.name, man.Digest)
			if got := strings.Replace(norm(r.stdout), "sha256:", "", 1); got != want {
				t.Errorf("[%s] inspect --format '{{.Id}} {{.RepoDigests}}' = %q, want %q", m.name, norm(r.stdout), want)
			}
			r = m.mustSkiff(t, "image", "inspect", "--format", "{{.Id}}", dest)
			if got := strings.TrimPrefix(norm(r.stdout), "sha256:"); got != lay.multiID {
				t.Errorf("[%s] image inspect --format {{.Id}} = %q", m.name, r.stdout)
			}

			// history: one row per step (3 layers and an empty CMD step), newest first, sizes
			r = m.mustSkiff(t, "history", dest)
			if ls := lines(r.stdout); len(ls) != 5 || !strings.HasPrefix(ls[0], "IMAGE") {
				t.Errorf("[%s] history: want a header and 4 rows:\n%s", m.name, r.stdout)
			}
			r = m.mustSkiff(t, "history", "--format", "{{.CreatedBy}}|{{.Size}}|{{.RawSize}}", dest)
			rows := lines(r.stdout)
			wantBy := []string{`regtest: CMD ["sh"]`, "regtest: whiteouts and opaque dir", "regtest: files, owners, links, setuid", "regtest: busybox base"}
			if len(rows) != len(wantBy) {
				t.Fatalf("[%s] history --format: %d rows, want %d:\n%s", m.name, len(rows), len(wantBy), r.stdout)
			}
			for i, row := range rows {
				f := strings.Split(row, "|")
				if len(f) != 3 || f[0] != wantBy[i] {
					t.Errorf("[%s] history row %d = %q, want created-by %q", m.name, i, row, wantBy[i])
					continue
				}
				if i == 0 && (f[1] != "0B" || f[2] != "0") {
					t.Errorf("[%s] history: the empty CMD step has size %q/%q, want 0B", m.name, f[1], f[2])
				}
				if n, _ := strconv.Atoi(f[2]); i == 3 && n < len(lay.bb)/2 {
					t.Errorf("[%s] history: the busybox layer has size %q (%s), want about %d", m.name, f[1], f[2], len(lay.bb))
				}
				if i > 0 && (f[2] == "0" || f[1] == "0B") {
					t.Errorf("[%s] history: layer row %q has no size", m.name, row)
				}
			}
		})
	})

	t.Run("LayerReuse", func(t *testing.T) {
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			base, child := "localhost/regbase:1", "localhost/regchild:1"
			dBase := fmt.Sprintf("%s/%s/reuse-base:1", P, m.name)
			dChild := fmt.Sprintf("%s/%s/reuse-child:1", P, m.name)
			dChild2 := fmt.Sprintf("%s/%s/reuse-other:1", P, m.name)
			cleanupImages(t, m, base, child, dBase, dChild, dChild2)
			if names := loadNames(t, m, "-i", lay.reuse); len(names) != 2 {
				t.Fatalf("[%s] load of the base/child layout: %q", m.name, names)
			}
			m.mustSkiff(t, "push", insecure, base, dBase)
			bm := rs.plain.manifest(t, m.name+"/reuse-base", "1")

			mark := rs.plain.logMark()
			m.mustSkiff(t, "push", insecure, child, dChild)
			reqs := rs.plain.requestsSince(mark)
			cm := rs.plain.manifest(t, m.name+"/reuse-child", "1")
			if len(cm.Layers) != 3 || len(bm.Layers) != 2 {
				t.Fatalf("[%s] manifests: base %d layers, child %d", m.name, len(bm.Layers), len(cm.Layers))
			}
			up := uploadedDigests(reqs)
			want := []string{cm.Config.Digest, cm.Layers[2].Digest}
			sort.Strings(want)
			if strings.Join(up, " ") != strings.Join(want, " ") {
				t.Errorf("[%s] push of the child uploaded %q, want only its new layer and config %q; blob requests:\n%s", m.name, up, want, blobLines(reqs))
			}
			for i := 0; i < 2; i++ {
				if cm.Layers[i].Digest != bm.Layers[i].Digest {
					t.Errorf("[%s] the child's shared layer %d was pushed as %s, the base has %s", m.name, i, cm.Layers[i].Digest, bm.Layers[i].Digest)
				}
			}
			// again to the same repository: nothing; to another repository of the registry: no
			// layer (they are mounted from the first one), only the small config blob may be
			// uploaded again
			for _, again := range []string{dChild, dChild2} {
				mark = rs.plain.logMark()
				m.mustSkiff(t, "push", insecure, child, again)
				reqs = rs.plain.requestsSince(mark)
				up := uploadedDigests(reqs)
				if len(up) == 1 && again == dChild2 && up[0] == cm.Config.Digest {
					continue
				}
				if len(up) != 0 {
					t.Errorf("[%s] push of the child again to %s uploaded %q, want nothing; blob requests:\n%s", m.name, again, up, blobLines(reqs))
				}
			}

			// pull: the child's layers shared with the base are not downloaded again
			m.mustSkiff(t, "rmi", base, child)
			mark = rs.plain.logMark()
			m.mustSkiff(t, "pull", "-q", insecure, dBase)
			gets := getDigests(rs.plain.requestsSince(mark))
			if !contains(gets, bm.Layers[1].Digest) {
				t.Errorf("[%s] pull of the base did not download its layer A %s (GETs %q): was it not removed by rmi?", m.name, bm.Layers[1].Digest, gets)
			}
			mark = rs.plain.logMark()
			m.mustSkiff(t, "pull", "-q", insecure, dChild)
			reqs = rs.plain.requestsSince(mark)
			gets = getDigests(reqs)
			for _, l := range bm.Layers {
				if contains(gets, l.Digest) {
					t.Errorf("[%s] pull of the child downloaded the shared layer %s again; GETs %q", m.name, l.Digest, gets)
				}
			}
			if !contains(gets, cm.Layers[2].Digest) {
				t.Errorf("[%s] pull of the child did not download its own layer %s; GETs %q", m.name, cm.Layers[2].Digest, gets)
			}
			r := m.skiff("run", "--rm", dChild, "sh", "-c", "wc -c < /a.txt; wc -c < /b.txt")
			if r.code != 0 || strings.Join(strings.Fields(r.stdout), " ") != "65536 65536" {
				t.Errorf("[%s] run of the pulled child: %v", m.name, r)
			}
		})
	})

	t.Run("SaveLoad", func(t *testing.T) {
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			d := modeDir(t, m)
			cleanupImages(t, m, multiRef, "localhost/regbbcopy:1")
			loadNames(t, m, "-i", lay.multi)
			cases := []struct{ format, path string }{
				{"docker-archive", filepath.Join(d, "multi-docker.tar")},
				{"oci-archive", filepath.Join(d, "multi-oci.tar")},
				{"oci-dir", filepath.Join(d, "multi-ocidir")},
			}
			for _, c := range cases {
				// each format from the image as loaded from the OCI layout (a docker-archive
				// round trip stores a v2s2 manifest, and converting that back to OCI rewrites
				// the config, so chaining the formats would change the ID by design)
				m.mustSkiff(t, "rmi", "-f", multiRef)
				loadNames(t, m, "-i", lay.multi)
				m.mustSkiff(t, "save", "--format", c.format, "-o", c.path, multiRef)
				if err := checkArchive(c.format, c.path); err != nil {
					t.Errorf("[%s] save --format %s wrote something else: %v", m.name, c.format, err)
				}
				m.mustSkiff(t, "rmi", multiRef)
				names := loadNames(t, m, "-i", c.path)
				if len(names) != 1 || names[0] != multiRef {
					t.Errorf("[%s] load of the %s: names %q, want [%s]", m.name, c.format, names, multiRef)
				}
				if id := imageID(t, m, nil, multiRef); id != lay.multiID {
					t.Errorf("[%s] %s round trip changed the image ID: %q, want %s", m.name, c.format, id, lay.multiID)
				}
				checkMulti(t, m, nil, multiRef, "after save/load as "+c.format)
			}

			// two images in one docker-archive
			m.mustSkiff(t, "tag", "bbtest", "localhost/regbbcopy:1")
			two := filepath.Join(d, "two.tar")
			m.mustSkiff(t, "save", "-o", two, multiRef, "localhost/regbbcopy:1")
			m.mustSkiff(t, "rmi", multiRef, "localhost/regbbcopy:1")
			names := loadNames(t, m, "-i", two)
			sort.Strings(names)
			if strings.Join(names, " ") != "localhost/regbbcopy:1 "+multiRef {
				t.Errorf("[%s] load of a two-image docker-archive: names %q", m.name, names)
			}
			if got := m.imageNames(t); !contains(got, multiRef) || !contains(got, "localhost/regbbcopy:1") || !contains(got, "localhost/bbtest:latest") {
				t.Errorf("[%s] images after loading two images: %q", m.name, got)
			}
			checkMulti(t, m, nil, multiRef, "after a two-image archive")

			// save to stdout, load from stdin
			r := m.mustSkiff(t, "save", multiRef)
			if len(r.stdout) < 100000 || r.stdout[257:262] != "ustar" {
				t.Fatalf("[%s] save to stdout: %d bytes, not a tar archive", m.name, len(r.stdout))
			}
			m.mustSkiff(t, "rmi", multiRef)
			r = m.skiffIn(r.stdout, "load")
			if r.code != 0 || strings.Join(loadedFrom(r.stdout), " ") != multiRef {
				t.Errorf("[%s] load from stdin: %v", m.name, r)
			}
			checkMulti(t, m, nil, multiRef, "after save | load")
		})
	})

	t.Run("Interop", func(t *testing.T) {
		needTool(t, "skopeo")
		needTool(t, "podman")
		needTool(t, "runc")
		pm := rootlessMode
		pm.need(t)
		dest := fmt.Sprintf("%s/interop/multi:1", P)
		cleanupImages(t, pm, multiRef, dest)
		loadNames(t, pm, "-i", lay.multi)
		pm.mustSkiff(t, "push", insecure, multiRef, dest)
		shared := modeDir(t, pm)

		// podman (rootless, as the test user) pulls what skiff pushed and saves it
		t.Cleanup(podmanConfig(t, pm))
		podman := func(args ...string) result {
			return pm.exec(opts{timeout: 120 * time.Second}, append([]string{"podman"}, args...)...)
		}
		t.Cleanup(func() { podman("rmi", "-f", dest) })
		if r := podman("pull", "-q", insecure, dest); r.code != 0 {
			t.Fatalf("podman pull of the image skiff pushed: %v", r)
		}
		r := podman("run", "--rm", "--network=none", dest, "sh", "-c", multiCheck)
		if r.code != 0 || norm(r.stdout) != multiWant {
			t.Errorf("podman run of the image skiff pushed:\n got %q\nwant %q\n%v", norm(r.stdout), multiWant, r)
		}
		pdock := filepath.Join(shared, "podman-docker.tar")
		poci := filepath.Join(shared, "podman-oci.tar")
		if r := podman("save", "--format", "docker-archive", "-o", pdock, dest); r.code != 0 {
			t.Fatalf("podman save docker-archive: %v", r)
		}
		if r := podman("save", "--format", "oci-archive", "-o", poci, dest); r.code != 0 {
			t.Fatalf("podman save oci-archive: %v", r)
		}

		// skopeo copies from the registry into a docker-archive and an oci-archive
		sdock := filepath.Join(shared, "skopeo-docker.tar")
		soci := filepath.Join(shared, "skopeo-oci.tar")
		// an auth file of its own: without XDG_RUNTIME_DIR, skopeo reads /run/containers/UID,
		// which a root podman or skopeo leaves unreadable (0700) to the user
		auth := filepath.Join(shared, "skopeo-auth.json")
		if err := os.WriteFile(auth, []byte("{}"), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, c := range [][]string{
			{"skopeo", "copy", "--authfile", auth, "--src-tls-verify=false", "docker://" + dest, "docker-archive:" + sdock + ":localhost/regskopeo:1"},
			{"skopeo", "copy", "--authfile", auth, "--src-tls-verify=false", "docker://" + dest, "oci-archive:" + soci + ":localhost/regskopeo:oci"},
		} {
			if r := pm.exec(opts{timeout: 60 * time.Second}, c...); r.code != 0 {
				t.Fatalf("skopeo copy: %v", r)
			}
		}
		for _, f := range []string{pdock, poci, sdock, soci} {
			os.Chmod(f, 0o644)
		}

		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			d := modeDir(t, m)
			cleanupImages(t, m, dest, multiRef, "localhost/regskopeo:1", "localhost/regskopeo:oci")
			m.skiff("rmi", "-f", dest, multiRef)
			for _, c := range []struct{ what, file, name string }{
				{"podman save (docker-archive)", pdock, dest},
				{"podman save --format oci-archive", poci, ""},
				{"skopeo copy to docker-archive", sdock, "localhost/regskopeo:1"},
				{"skopeo copy to oci-archive", soci, "localhost/regskopeo:oci"},
			} {
				r := m.skiff("load", "-i", c.file)
				names := loadedFrom(r.stdout)
				if r.code != 0 || len(names) != 1 {
					t.Errorf("[%s] load of the archive made by %s: %v", m.name, c.what, r)
					continue
				}
				if c.name != "" && names[0] != c.name {
					t.Errorf("[%s] load of the archive made by %s named it %q, want %q", m.name, c.what, names[0], c.name)
				}
				img := strings.TrimPrefix(names[0], "sha256:")
				if id := imageID(t, m, nil, img); id != lay.multiID {
					t.Errorf("[%s] the image loaded from %s has ID %q, want %s", m.name, c.what, id, lay.multiID)
				}
				checkMulti(t, m, nil, img, "after load of the archive made by "+c.what)
				m.skiff("rmi", "-f", lay.multiID)
				if id := imageID(t, m, nil, lay.multiID); id != "" {
					t.Fatalf("[%s] rmi -f %s left the image", m.name, lay.multiID)
				}
			}
			// skopeo reads what skiff save writes
			loadNames(t, m, "-i", lay.multi)
			for _, f := range []string{"docker-archive", "oci-archive"} {
				p := filepath.Join(d, "skiff-"+f+".tar")
				m.mustSkiff(t, "save", "--format", f, "-o", p, multiRef)
				r := execArgv([]string{"skopeo", "inspect", "--raw", f + ":" + p}, opts{})
				if r.code != 0 || strings.Count(r.stdout, `"digest"`) != 4 {
					t.Errorf("[%s] skopeo inspect of skiff's %s: want a manifest with a config and 3 layers: %v", m.name, f, r)
				}
				cp := filepath.Join(d, "copied-"+f)
				if r := execArgv([]string{"skopeo", "copy", f + ":" + p, "dir:" + cp}, opts{timeout: 60 * time.Second}); r.code != 0 {
					t.Errorf("[%s] skopeo copy of skiff's %s: %v", m.name, f, r)
				}
			}
			m.skiff("rmi", "-f", lay.multiID)
		})
	})

	t.Run("Auth", func(t *testing.T) {
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			d := modeDir(t, m)
			cd := "--cert-dir=" + rs.auth.certDir
			creds := "--creds=" + rs.auth.user + ":" + rs.auth.pass
			dest := fmt.Sprintf("%s/%s/bb:1", A, m.name)
			cleanupImages(t, m, dest)
			af := filepath.Join(d, "auth.json")
			authArg := "--authfile=" + af
			if r := m.skiff("push", "-q", cd, authArg, "bbtest", dest); r.code == 0 {
				t.Errorf("[%s] push without credentials to the auth registry worked", m.name)
			} else {
				wantOneLineError(t, m, "push without credentials", r, "login|authentication|credentials")
			}
			m.mustSkiff(t, "push", cd, creds, "bbtest", dest)

			r := m.skiff("login", cd, authArg, "-u", rs.auth.user, "-p", "wrong-password", A)
			wantOneLineError(t, m, "login with a wrong password", r, "credentials|authentication|unauthorized")
			if _, err := os.Stat(af); err == nil {
				b, _ := os.ReadFile(af)
				t.Errorf("[%s] a failed login wrote the auth file: %s", m.name, b)
			}
			pullFails := func(when string, args ...string) {
				t.Helper()
				before := m.imagesSnapshot(t)
				r := m.skiff(append([]string{"pull", cd}, append(args, dest)...)...)
				wantOneLineError(t, m, "pull "+when, r, "login|authentication", m.name+"/bb")
				if after := m.imagesSnapshot(t); after != before {
					t.Errorf("[%s] pull %s changed images:\n%s\n---\n%s", m.name, when, before, after)
				}
			}
			pullWorks := func(when string, args ...string) {
				t.Helper()
				m.skiff("rmi", "-f", dest)
				r := m.skiff(append([]string{"pull", "-q", cd}, append(args, dest)...)...)
				if r.code != 0 || !contains(m.imageNames(t), dest) {
					t.Errorf("[%s] pull %s: %v", m.name, when, r)
				}
			}
			pullFails("without credentials", authArg)
			pullWorks("with --creds", creds, authArg)
			pullFails("with a wrong --creds", "--creds="+rs.auth.user+":nope", authArg)

			r = m.skiffIn(rs.auth.pass+"\n", "login", cd, authArg, "-u", rs.auth.user, "--password-stdin", A)
			if r.code != 0 || norm(r.stdout) != "Login Succeeded!" {
				t.Fatalf("[%s] login: %v", m.name, r)
			}
			checkAuthFile(t, m, af, A, true)
			pullWorks("after login", authArg)
			r = m.skiff("logout", authArg, A)
			if r.code != 0 {
				t.Errorf("[%s] logout: %v", m.name, r)
			}
			checkAuthFile(t, m, af, A, false)
			m.skiff("rmi", "-f", dest)
			pullFails("after logout", authArg)
			wantOneLineError(t, m, "logout when not logged in", m.skiff("logout", authArg, A))

			// where the credentials go without --authfile: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR
			envFile := filepath.Join(d, "env-auth.json")
			xdg := filepath.Join(d, "xdg")
			os.Mkdir(xdg, 0o700)
			os.Chown(xdg, m.uid, m.gid)
			homeFile := filepath.Join(m.home, ".config", "containers", "auth.json")
			if old, err := os.ReadFile(homeFile); err == nil {
				// the user's own file: put it back as it was
				st, _ := os.Stat(homeFile)
				t.Cleanup(func() { os.WriteFile(homeFile, old, st.Mode().Perm()) })
			} else {
				t.Cleanup(func() { os.Remove(homeFile) })
			}
			for _, c := range []struct{ env, file string }{
				{"REGISTRY_AUTH_FILE=" + envFile, envFile},
				{"XDG_RUNTIME_DIR=" + xdg, filepath.Join(xdg, "containers", "auth.json")},
				{"", homeFile}, // neither variable: ~/.config/containers/auth.json
			} {
				sk := func(stdin string, args ...string) result {
					argv := []string{"env", skiffBin}
					if c.env != "" {
						argv = []string{"env", c.env, skiffBin}
					}
					return m.exec(opts{stdin: strings.NewReader(stdin)}, append(argv, args...)...)
				}
				r := sk(rs.auth.pass, "login", cd, "-u", rs.auth.user, "--password-stdin", A)
				if r.code != 0 || norm(r.stdout) != "Login Succeeded!" {
					t.Errorf("[%s] login with %s: %v", m.name, c.env, r)
					continue
				}
				checkAuthFile(t, m, c.file, A, true)
				m.skiff("rmi", "-f", dest)
				if r := sk("", "pull", "-q", cd, dest); r.code != 0 {
					t.Errorf("[%s] pull with %s after login: %v", m.name, c.env, r)
				}
				if r := sk("", "logout", "-a"); r.code != 0 {
					t.Errorf("[%s] logout -a with %s: %v", m.name, c.env, r)
				}
				checkAuthFile(t, m, c.file, A, false)
			}
		})
	})

	t.Run("TLS", func(t *testing.T) {
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			cd := "--cert-dir=" + rs.auth.certDir
			creds := "--creds=" + rs.auth.user + ":" + rs.auth.pass
			src := fmt.Sprintf("%s/%s/tls:1", A, m.name)
			cleanupImages(t, m, src, "localhost/regtls:1")
			m.mustSkiff(t, "push", cd, creds, "bbtest", src)
			af := "--authfile=" + filepath.Join(modeDir(t, m), "none.json")
			for _, c := range []struct {
				name    string
				args    []string
				ok      bool
				mention []string
			}{
				{"pull, default TLS verification", []string{"pull", "-q", creds, af, src}, false, []string{"tls|certificate|x509", A}},
				{"pull --tls-verify=true", []string{"pull", "-q", "--tls-verify=true", creds, af, src}, false, []string{"tls|certificate|x509"}},
				{"login, default TLS verification", []string{"login", af, "-u", rs.auth.user, "-p", rs.auth.pass, A}, false, []string{"tls|certificate|x509"}},
				{"push, default TLS verification", []string{"push", "-q", creds, af, "bbtest", src}, false, []string{"tls|certificate|x509"}},
				{"login --tls-verify=true", []string{"login", "--tls-verify=true", af, "-u", rs.auth.user, "-p", rs.auth.pass, A}, false, []string{"tls|certificate|x509"}},
				{"push --tls-verify=true", []string{"push", "-q", "--tls-verify=true", creds, af, "bbtest", src}, false, []string{"tls|certificate|x509"}},
				{"run --tls-verify=true pulling", []string{"run", "--rm", "-q", "--tls-verify=true", creds, src, "true"}, false, []string{"tls|certificate|x509"}},
				{"run pulling, default TLS verification", []string{"run", "--rm", "-q", creds, src, "true"}, false, []string{"tls|certificate|x509"}},
				{"pull with --cert-dir", []string{"pull", "-q", cd, creds, af, src}, true, nil},
				{"pull --tls-verify=true with --cert-dir", []string{"pull", "-q", "--tls-verify=true", cd, creds, af, src}, true, nil},
				{"pull --tls-verify=false", []string{"pull", "-q", insecure, creds, af, src}, true, nil},
				{"plain-HTTP registry without --tls-verify=false", []string{"pull", "-q", P + "/" + m.name + "/bb:1"}, false, []string{"tls-verify|http response"}},
			} {
				m.skiff("rmi", "-f", src)
				before := m.imagesSnapshot(t)
				r := m.skiff(c.args...)
				if c.ok {
					if r.code != 0 || !contains(m.imageNames(t), src) {
						t.Errorf("[%s] %s: %v", m.name, c.name, r)
					}
					continue
				}
				wantOneLineError(t, m, c.name, r, c.mention...)
				if after := m.imagesSnapshot(t); after != before {
					t.Errorf("[%s] %s changed images", m.name, c.name)
				}
			}
		})
	})

	t.Run("CorruptBlob", func(t *testing.T) {
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			ref := "localhost/regcorrupt-" + m.name + ":1"
			dest := fmt.Sprintf("%s/%s/corrupt:1", P, m.name)
			cleanupImages(t, m, ref, dest)
			dir := filepath.Join(modeDir(t, m), "layout")
			if _, err := writeOCILayout(dir, []regImage{{ref: ref, layers: []regLayer{{raw: lay.bb, gzip: true},
				{gzip: true, entries: []regEntry{{name: "unique.bin", typ: tar.TypeReg, mode: 0o644, body: randomBytes(256 << 10)}}}}}}); err != nil {
				t.Fatal(err)
			}
			loadNames(t, m, "-i", dir)
			m.mustSkiff(t, "push", insecure, ref, dest)
			man := rs.plain.manifest(t, m.name+"/corrupt", "1")
			m.mustSkiff(t, "rmi", ref)
			blob := rs.plain.blobPath(man.Layers[1].Digest)
			b, err := os.ReadFile(blob)
			if err != nil {
				t.Fatalf("the pushed layer is not where the registry keeps blobs: %v", err)
			}
			for i := len(b) / 2; i < len(b)/2+4096 && i < len(b); i++ {
				b[i] ^= 0x5a
			}
			if err := os.WriteFile(blob, b, 0o644); err != nil {
				t.Fatal(err)
			}
			before := m.imagesSnapshot(t)
			r := m.skiff("pull", "-q", insecure, dest)
			wantOneLineError(t, m, "pull -q of a corrupted blob", r, "digest", m.name+"/corrupt")
			if after := m.imagesSnapshot(t); after != before {
				t.Errorf("[%s] a failed pull changed images:\nbefore %q\nafter  %q", m.name, before, after)
			}
			// with progress lines (no -q), the error is still one line, the last one
			r = m.skiff("pull", insecure, dest)
			wantErrorLast(t, m, "pull of a corrupted blob", r, "digest")
			r = m.skiff("run", "--rm", "-q", insecure, dest, "true")
			wantOneLineError(t, m, "run -q pulling a corrupted blob", r, "digest")
			if after := m.imagesSnapshot(t); after != before {
				t.Errorf("[%s] failed pulls changed images:\nbefore %q\nafter  %q", m.name, before, after)
			}
		})
	})

	t.Run("Kill9MidPull", func(t *testing.T) {
		big := lay.bigLayout(t)
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			dest := fmt.Sprintf("%s/%s/big:1", P, m.name)
			cleanupImages(t, m, "localhost/regbig:1", dest)
			loadNames(t, m, "-i", big)
			m.exec(opts{timeout: 120 * time.Second}, skiffBin, "push", "-q", insecure, "localhost/regbig:1", dest)
			if _, code, err := rs.plain.getManifest(m.name+"/big", "1"); code != 200 {
				t.Fatalf("[%s] push of the 64 MiB image failed (%d %v)", m.name, code, err)
			}
			m.mustSkiff(t, "rmi", "localhost/regbig:1")
			before := m.imagesSnapshot(t)
			// one whole pull, to kill the next ones at fractions of its duration
			t0 := time.Now()
			m.exec(opts{timeout: 120 * time.Second}, skiffBin, "pull", "-q", insecure, dest)
			full := time.Since(t0)
			if !contains(m.imageNames(t), dest) {
				t.Fatalf("[%s] the first pull of the 64 MiB image failed", m.name)
			}
			m.mustSkiff(t, "rmi", dest)
			killed := 0
			var outcome []string
			for _, delay := range []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond, full / 4, full / 2, full * 3 / 4} {
				s := m.start(t, "pull", "-q", insecure, dest)
				time.Sleep(delay)
				syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
				res := s.wait(t, 20*time.Second)
				if res.signal == syscall.SIGKILL {
					killed++
					outcome = append(outcome, fmt.Sprintf("%v: killed", delay.Round(time.Millisecond)))
				} else {
					outcome = append(outcome, fmt.Sprintf("%v: finished (exit %d)", delay.Round(time.Millisecond), res.code))
				}
				r := m.skiff("images")
				if r.code != 0 || strings.Contains(r.stderr, "rror") {
					t.Fatalf("[%s] images after killing a pull at %v: %v", m.name, delay, r)
				}
				if contains(m.imageNames(t), dest) {
					if res.code != 0 {
						t.Errorf("[%s] the pull killed at %v left %s in images:\n%s", m.name, delay, dest, r.stdout)
					}
					m.mustSkiff(t, "rmi", dest)
				}
				if after := m.imagesSnapshot(t); after != before {
					t.Errorf("[%s] images changed after a pull killed at %v:\nbefore %q\nafter  %q", m.name, delay, before, after)
				}
			}
			t.Logf("[%s] a whole pull of 64 MiB took %v; kills: %s", m.name, full.Round(time.Millisecond), strings.Join(outcome, ", "))
			if killed < 3 {
				t.Errorf("[%s] only %d pulls were killed before they ended: the test proved little", m.name, killed)
			}
			r := m.exec(opts{timeout: 120 * time.Second}, skiffBin, "pull", "-q", insecure, dest)
			if r.code != 0 || strings.TrimPrefix(norm(r.stdout), "sha256:") != lay.bigID {
				t.Fatalf("[%s] pull after the killed ones: %v", m.name, r)
			}
			r = m.skiff("run", "--rm", dest, "sh", "-c", "wc -c < /big/blob")
			if r.code != 0 || norm(r.stdout) != fmt.Sprint(64<<20) {
				t.Errorf("[%s] run of the image pulled after the killed pulls: %v", m.name, r)
			}
			// the killed pulls' half-downloaded blobs were removed by the next pull, and none went
			// to /var/tmp
			scratch := filepath.Join(m.storeDir(), "skiff-tmp")
			if ents, err := os.ReadDir(scratch); err != nil || len(ents) != 0 {
				var names []string
				for _, e := range ents {
					names = append(names, e.Name())
				}
				t.Errorf("[%s] after the killed pulls and a whole one, %s holds %v (err %v), want it empty", m.name, scratch, names, err)
			}
			if left, _ := filepath.Glob("/var/tmp/container_images_storage*"); len(left) > 0 {
				for _, l := range left {
					if st, err := os.Stat(l); err == nil && st.Sys().(*syscall.Stat_t).Uid == uint32(m.uid) && st.ModTime().After(t0) {
						t.Errorf("[%s] a pull left %s in /var/tmp", m.name, l)
					}
				}
			}
		})
	})

	t.Run("PullErrors", func(t *testing.T) {
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			dest := fmt.Sprintf("%s/%s/errs:1", P, m.name)
			cleanupImages(t, m, dest)
			m.mustSkiff(t, "push", insecure, "bbtest", dest)
			closed := fmt.Sprintf("127.0.0.1:%d", freePort(t))
			for _, c := range []struct {
				name    string
				args    []string
				mention []string
			}{
				{"missing tag", []string{"pull", insecure, P + "/" + m.name + "/errs:nope"}, []string{m.name + "/errs", "not found|unknown"}},
				{"missing repository", []string{"pull", insecure, P + "/" + m.name + "/nothere:1"}, []string{m.name + "/nothere", "not found|unknown"}},
				{"missing digest", []string{"pull", insecure, P + "/" + m.name + "/errs@sha256:" + strings.Repeat("ab", 32)}, []string{m.name + "/errs"}},
				{"unreachable port", []string{"pull", insecure, closed + "/x/y:1"}, []string{closed}},
				{"unreachable port, quiet", []string{"pull", "-q", insecure, closed + "/x/y:1"}, []string{closed}},
				{"invalid reference", []string{"pull", insecure, P + "/UPPER/case:1"}, nil},
				{"--all-tags of a missing repository", []string{"pull", "--all-tags", insecure, P + "/" + m.name + "/nothere"}, []string{m.name + "/nothere"}},
				{"bad --platform", []string{"pull", "--platform", "nonsense", insecure, dest}, []string{"platform"}},
				{"--pull=never, missing image", []string{"run", "--rm", "--pull=never", P + "/" + m.name + "/nothere:1", "true"}, []string{m.name + "/nothere"}},
				{"run pulling a missing image", []string{"run", "--rm", insecure, P + "/" + m.name + "/nothere:1", "true"}, []string{m.name + "/nothere"}},
				{"run --pull=bogus", []string{"run", "--rm", "--pull=bogus", "bbtest", "true"}, []string{"bogus"}},
			} {
				before := m.imagesSnapshot(t)
				r := m.skiff(c.args...)
				wantOneLineError(t, m, c.name, r, c.mention...)
				if after := m.imagesSnapshot(t); after != before {
					t.Errorf("[%s] %s changed images:\nbefore %q\nafter  %q", m.name, c.name, before, after)
				}
			}
		})
	})

	t.Run("AllTags", func(t *testing.T) {
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			repo := fmt.Sprintf("%s/%s/alltags", P, m.name)
			tags := []string{"a", "b", "c"}
			var names []string
			for _, tg := range tags {
				names = append(names, repo+":"+tg)
			}
			cleanupImages(t, m, append(names, multiRef)...)
			loadNames(t, m, "-i", lay.multi)
			m.mustSkiff(t, "push", insecure, "bbtest", names[0])
			m.mustSkiff(t, "push", insecure, "bbtest", names[1])
			m.mustSkiff(t, "push", insecure, multiRef, names[2])
			m.mustSkiff(t, "rmi", multiRef)
			if got := rs.plain.tags(t, m.name+"/alltags"); len(got) != 3 {
				t.Fatalf("[%s] registry tags %q", m.name, got)
			}
			r := m.mustSkiff(t, "pull", "-q", "--all-tags", insecure, repo)
			ids := lines(r.stdout)
			got := m.imageNames(t)
			for _, n := range names {
				if !contains(got, n) {
					t.Errorf("[%s] pull --all-tags did not pull %s: images %q", m.name, n, got)
				}
			}
			if len(ids) < 2 {
				t.Errorf("[%s] pull --all-tags printed %q, want the pulled IDs", m.name, r.stdout)
			}
			checkMulti(t, m, nil, names[2], "after pull --all-tags")
			wantOneLineError(t, m, "pull --all-tags of a tagged reference", m.skiff("pull", "--all-tags", insecure, names[0]))
		})
	})

	t.Run("RunPull", func(t *testing.T) {
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			img := fmt.Sprintf("%s/%s/runpull:1", P, m.name)
			cleanupImages(t, m, img, multiRef)
			m.mustSkiff(t, "push", insecure, "bbtest", img)
			r := m.skiff("run", "--rm", "--pull=never", img, "true")
			wantOneLineError(t, m, "run --pull=never of a missing image", r)
			if contains(m.imageNames(t), img) {
				t.Fatalf("[%s] run --pull=never pulled the image", m.name)
			}
			r = m.skiff("run", "--rm", insecure, img, "echo", "pulled-and-ran")
			if r.code != 0 || norm(r.stdout) != "pulled-and-ran" || !contains(m.imageNames(t), img) {
				t.Errorf("[%s] run of a missing image (default --pull=missing): %v", m.name, r)
			}
			r = m.skiff("run", "--rm", insecure, img, "echo", "again")
			if r.code != 0 || norm(r.stdout) != "again" {
				t.Errorf("[%s] run of a present image: %v", m.name, r)
			}
			// the tag now points at another image: missing keeps the local one, always fetches it
			loadNames(t, m, "-i", lay.multi)
			m.mustSkiff(t, "push", insecure, multiRef, img)
			m.mustSkiff(t, "rmi", multiRef)
			r = m.skiff("run", "--rm", insecure, img, "cat", "/regdata/owned")
			if r.code == 0 {
				t.Errorf("[%s] --pull=missing fetched the new image although the tag was present: %v", m.name, r)
			}
			r = m.skiff("run", "--rm", "--pull=always", insecure, img, "cat", "/regdata/owned")
			if r.code != 0 || !strings.HasSuffix(norm(r.stdout), "owned-content") {
				t.Errorf("[%s] run --pull=always did not run the new image: %v", m.name, r)
			}
			if id := imageID(t, m, nil, img); id != lay.multiID {
				t.Errorf("[%s] after run --pull=always the tag is image %q, want %s", m.name, id, lay.multiID)
			}
			r = m.skiff("run", "--rm", "--pull=always", insecure, P+"/"+m.name+"/nothere:1", "true")
			wantOneLineError(t, m, "run --pull=always of a missing image", r, m.name+"/nothere")
		})
	})

	t.Run("PushFormats", func(t *testing.T) {
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			d := modeDir(t, m)
			cleanupImages(t, m, multiRef)
			loadNames(t, m, "-i", lay.multi)
			for _, c := range []struct {
				name, format, comp string
				wantMT, wantLayer  string
			}{
				{"oci", "oci", "", "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip"},
				{"v2s2", "v2s2", "", "application/vnd.docker.distribution.manifest.v2+json", "application/vnd.docker.image.rootfs.diff.tar.gzip"},
				{"oci-gzip", "oci", "gzip", "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.layer.v1.tar+gzip"},
				{"oci-zstd", "oci", "zstd", "application/vnd.oci.image.manifest.v1+json", "application/vnd.oci.image.layer.v1.tar+zstd"},
			} {
				repo := m.name + "/fmt-" + c.name
				dest := P + "/" + repo + ":1"
				cleanupImages(t, m, dest)
				df := filepath.Join(d, c.name+".digest")
				args := []string{"push", insecure, "--format", c.format, "--digestfile", df}
				if c.comp != "" {
					args = append(args, "--compression-format", c.comp)
				}
				m.mustSkiff(t, append(args, multiRef, dest)...)
				man := rs.plain.manifest(t, repo, "1")
				if man.MediaType != c.wantMT {
					t.Errorf("[%s] push --format %s: manifest type %q, want %q", m.name, c.format, man.MediaType, c.wantMT)
				}
				for i, l := range man.Layers {
					if l.MediaType != c.wantLayer {
						t.Errorf("[%s] push %s: layer %d has media type %q, want %q", m.name, c.name, i, l.MediaType, c.wantLayer)
					}
				}
				b, err := os.ReadFile(df)
				if err != nil || strings.TrimSpace(string(b)) != man.Digest || man.Digest == "" {
					t.Errorf("[%s] push %s: --digestfile holds %q (%v), the registry's Docker-Content-Digest is %q", m.name, c.name, b, err, man.Digest)
				}
				fresh := freshStore(t, m)
				r := m.skiff(append(fresh, "pull", "-q", insecure, dest)...)
				if r.code != 0 {
					t.Errorf("[%s] pull of the %s push into an empty store: %v", m.name, c.name, r)
					continue
				}
				checkMulti(t, m, fresh, dest, "pulled after push "+c.name)
				m.skiff(append(fresh, "rmi", "-f", dest)...)
			}
			r := m.skiff("push", insecure, "--format", "bogus", multiRef, P+"/"+m.name+"/fmt-bogus:1")
			wantOneLineError(t, m, "push --format bogus", r, "bogus")
			r = m.skiff("push", insecure, "--compression-format", "lz4", multiRef, P+"/"+m.name+"/fmt-bogus:1")
			wantOneLineError(t, m, "push --compression-format lz4", r, "lz4")
		})
	})

	t.Run("Prune", func(t *testing.T) {
		forModes(t, rangeModes, func(t *testing.T, m *mode) {
			d := modeDir(t, m)
			label := "regprune=" + m.name
			mk := func(name, ref, variant string) string {
				dir := filepath.Join(d, name)
				ids, err := writeOCILayout(dir, []regImage{{ref: ref, layers: []regLayer{{raw: lay.bb, gzip: true}},
					labels: map[string]string{"regprune": m.name, "variant": variant}, created: "2024-05-06T07:08:09Z"}})
				if err != nil {
					t.Fatal(err)
				}
				loadNames(t, m, "-i", dir)
				return ids[0]
			}
			ctr := "regprune-" + m.name
			m.skiff("rm", "-f", ctr)
			// images a killed run of this test left (untagged ones among them)
			for _, id := range lines(m.skiff("images", "-q", "--no-trunc", "--filter", "label="+label).stdout) {
				m.skiff("rmi", "-f", id)
			}
			cleanupImages(t, m, "localhost/regprune:tag", "localhost/regprune:used", "localhost/regprune:unused")
			t.Cleanup(func() { m.skiff("rm", "-f", ctr) })
			old := mk("old", "localhost/regprune:tag", "old")
			cur := mk("cur", "localhost/regprune:tag", "cur")
			used := mk("used", "localhost/regprune:used", "used")
			unused := mk("unused", "localhost/regprune:unused", "unused")
			t.Cleanup(func() { m.skiff("rmi", "-f", old) })
			if r := m.skiff("run", "--name", ctr, "localhost/regprune:used", "true"); r.code != 0 {
				t.Fatalf("[%s] run leaving a container: %v", m.name, r)
			}
			ids := func(args ...string) []string {
				r := m.mustSkiff(t, append([]string{"images", "-q", "--no-trunc"}, args...)...)
				var out []string
				for _, l := range lines(r.stdout) {
					out = append(out, strings.TrimPrefix(l, "sha256:"))
				}
				return out
			}
			if dang := ids("--filter", "dangling=true"); !contains(dang, old) || contains(dang, cur) {
				t.Errorf("[%s] images --filter dangling=true = %q, want the untagged %s and not %s", m.name, dang, old, cur)
			}
			if got := ids("--filter", "label="+label); len(got) != 4 {
				t.Errorf("[%s] images --filter label=%s = %q, want 4 images", m.name, label, got)
			}
			r := m.mustSkiff(t, "image", "prune")
			if !strings.Contains(r.stdout, old) {
				t.Errorf("[%s] image prune did not report the dangling image %s: %q", m.name, old, r.stdout)
			}
			all := ids()
			if contains(all, old) {
				t.Errorf("[%s] image prune left the dangling image", m.name)
			}
			for _, id := range []string{cur, used, unused} {
				if !contains(all, id) {
					t.Errorf("[%s] image prune removed the tagged image %s", m.name, id)
				}
			}
			// until= keeps what was made after it: these images are all newer than 2000
			before := ids()
			m.mustSkiff(t, "image", "prune", "-a", "--filter", "label="+label, "--filter", "until=2000-01-01")
			if after := ids(); strings.Join(after, " ") != strings.Join(before, " ") {
				t.Errorf("[%s] image prune -a --filter until=2000-01-01 removed images: %v -> %v", m.name, before, after)
			}
			r = m.mustSkiff(t, "image", "prune", "-a", "--filter", "label="+label)
			all = ids()
			for _, id := range []string{cur, unused} {
				if contains(all, id) {
					t.Errorf("[%s] image prune -a left the unused image %s: %q", m.name, id, r.stdout)
				}
			}
			if !contains(all, used) {
				t.Errorf("[%s] image prune -a removed the image a container uses", m.name)
			}
			if !contains(m.imageNames(t), "localhost/bbtest:latest") {
				t.Errorf("[%s] image prune -a --filter label=... removed bbtest", m.name)
			}
			m.mustSkiff(t, "rm", ctr)
			r = m.mustSkiff(t, "image", "prune", "-a", "--filter", "label="+label)
			if contains(ids(), used) {
				t.Errorf("[%s] image prune -a left the image whose container is gone: %q", m.name, r.stdout)
			}
		})
	})

	t.Logf("TestRegistry took %v", time.Since(start).Round(time.Second))
}

// uploadedDigests are the digests of the blob uploads completed (PUT ...?digest=) in reqs, sorted.
func uploadedDigests(reqs []regRequest) []string {
	re := regexp.MustCompile(`digest=(sha256(?::|%3A)[0-9a-f]{64})`)
	var out []string
	for _, q := range reqs {
		if q.method != "PUT" || !strings.Contains(q.path, "/blobs/uploads/") {
			continue
		}
		if m := re.FindStringSubmatch(q.path); m != nil {
			out = append(out, strings.Replace(m[1], "%3A", ":", 1))
		} else {
			out = append(out, q.path)
		}
	}
	sort.Strings(out)
	return out
}

// getDigests are the digests of the blobs downloaded (GET /v2/.../blobs/DIGEST).
func getDigests(reqs []regRequest) []string {
	var out []string
	for _, q := range blobGets(reqs) {
		if i := strings.Index(q.path, "/blobs/"); i >= 0 {
			out = append(out, q.path[i+len("/blobs/"):])
		}
	}
	return out
}

func blobLines(reqs []regRequest) string {
	var b strings.Builder
	for _, q := range reqs {
		if strings.Contains(q.path, "/blobs/") {
			b.WriteString("  " + q.String() + "\n")
		}
	}
	return b.String()
}

// checkAuthFile says whether the auth file has (or no longer has) credentials for reg, and that
// it is private to its owner.
func checkAuthFile(t testing.TB, m *mode, file, reg string, want bool) {
	t.Helper()
	b, err := os.ReadFile(file)
	has := err == nil && strings.Contains(string(b), `"`+reg+`"`)
	if has != want {
		t.Errorf("[%s] auth file %s: credentials for %s present=%v, want %v: %s (%v)", m.name, file, reg, has, want, b, err)
	}
	if err == nil {
		st, _ := os.Stat(file)
		if st.Mode().Perm()&0o077 != 0 {
			t.Errorf("[%s] auth file %s has mode %v: readable by others", m.name, file, st.Mode().Perm())
		}
		if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != m.uid {
			t.Errorf("[%s] auth file %s is owned by uid %d, want %d", m.name, file, sys.Uid, m.uid)
		}
	}
}

// checkArchive looks at what save wrote: a tar with manifest.json (docker-archive), a tar with
// index.json and oci-layout (oci-archive), or a directory with both (oci-dir).
func checkArchive(format, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	need := map[string]bool{"manifest.json": false}
	if format != "docker-archive" {
		need = map[string]bool{"index.json": false, "oci-layout": false}
	}
	if format == "oci-dir" {
		if !st.IsDir() {
			return fmt.Errorf("not a directory")
		}
		for n := range need {
			if _, err := os.Stat(filepath.Join(path, n)); err != nil {
				return err
			}
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		need[strings.TrimPrefix(h.Name, "./")] = true
	}
	for n, ok := range need {
		if !ok {
			return fmt.Errorf("no %s in the archive", n)
		}
	}
	return nil
}

// checkHostOwnership finds the multi-layer image's files in the mode's store on the host: uid/gid
// 1000 in the image must be the mapped id there (subuid base + 999 rootless, 1000 as root), and
// the setuid bit must be kept.
func checkHostOwnership(t testing.TB, m *mode) {
	t.Helper()
	want := 1000
	if !m.root {
		if !m.switchUser {
			return // the current user's own range is unknown here
		}
		want = subidStart(t, m.user, "/etc/subuid") + 999
		if g := subidStart(t, m.user, "/etc/subgid") + 999; g != want {
			t.Fatalf("[%s] subuid and subgid ranges differ; this check assumes they are equal", m.name)
		}
	}
	var owned, setuid int
	filepath.WalkDir(m.storeDir(), func(p string, de fs.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return nil
		}
		switch {
		case strings.HasSuffix(p, "/regdata/owned"):
			st, err := os.Lstat(p)
			if err != nil {
				return nil
			}
			owned++
			s := st.Sys().(*syscall.Stat_t)
			if int(s.Uid) != want || int(s.Gid) != want {
				t.Errorf("[%s] %s is owned by %d:%d on the host, want %d:%d", m.name, p, s.Uid, s.Gid, want, want)
			}
		case strings.HasSuffix(p, "/regdata/setuid"):
			st, err := os.Lstat(p)
			if err != nil {
				return nil
			}
			setuid++
			if st.Mode()&fs.ModeSetuid == 0 {
				t.Errorf("[%s] %s lost its setuid bit on the host: %v", m.name, p, st.Mode())
			}
		}
		return nil
	})
	if owned == 0 || setuid == 0 {
		t.Errorf("[%s] the image's files were not found in the store %s", m.name, m.storeDir())
	}
}

// podmanConfig writes the containers.conf podman needs on this host for the user (runc,
// cgroupfs, file events logger) and returns a function that puts back what was there.
func podmanConfig(t testing.TB, m *mode) func() {
	t.Helper()
	dir := filepath.Join(m.home, ".config", "containers")
	p := filepath.Join(dir, "containers.conf")
	old, oldErr := os.ReadFile(p)
	var made []string
	for d := dir; d != m.home && d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(d); err != nil {
			made = append(made, d)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range made {
		os.Chown(d, m.uid, m.gid)
	}
	conf := "[engine]\nruntime=\"runc\"\ncgroup_manager=\"cgroupfs\"\nevents_logger=\"file\"\n"
	if err := os.WriteFile(p, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(p, m.uid, m.gid)
	return func() {
		if oldErr == nil {
			os.WriteFile(p, old, 0o644)
			return
		}
		os.Remove(p)
		for _, d := range made {
			os.Remove(d)
		}
	}
}

// subidStart is the first subordinate id of user in file (/etc/subuid or /etc/subgid).
func subidStart(t testing.TB, user, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Split(l, ":")
		if len(f) == 3 && f[0] == user {
			n, err := strconv.Atoi(f[1])
			if err == nil {
				return n
			}
		}
	}
	t.Fatalf("no range for %s in %s", user, file)
	return 0
}
