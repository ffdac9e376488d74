package integration

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestBuildRunMounts: RUN's BuildKit flags: --mount=type=cache (kept between builds),
// type=bind (from the context with .dockerignore applied, or an earlier stage; read-only unless
// rw, and part of the step's cache key), type=tmpfs, and --network=none; none of what is
// mounted ends in the image.
func TestBuildRunMounts(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		cacheID := fmt.Sprintf("test-%d", time.Now().UnixNano()) // a cache of its own
		dockerfile := `FROM bbtest AS gen
RUN mkdir /gen && echo from-stage > /gen/file

FROM bbtest
RUN --mount=type=cache,id=` + cacheID + `,target=/cache sh -c 'echo x >> /cache/count; wc -l < /cache/count > /seen'
RUN --mount=type=bind,source=data,target=/data sh -c 'cat /data/hello > /copied && ! test -e /data/ignored'
RUN --mount=type=bind,source=data/hello,target=/one.txt cp /one.txt /one-copied
RUN --mount=type=bind,from=gen,source=/gen,target=/g cp /g/file /from-stage
RUN --mount=type=bind,source=data,target=/data,rw sh -c 'echo junk > /data/new'
RUN --mount=type=tmpfs,target=/scratch sh -c 'echo t > /scratch/t && test -f /scratch/t'
RUN --network=none sh -c 'test "$(ls /sys/class/net)" = lo'
`
		ctx := buildDir(t, m, "build-mounts", map[string]string{
			"Dockerfile":    dockerfile,
			"data/hello":    "hello\n",
			"data/ignored":  "no\n",
			".dockerignore": "data/ignored\n",
		})
		img := "localhost/build-mounts-" + m.name
		defer m.skiff("rmi", "-f", img)
		if r := m.skiff("build", "-q", "-t", img, ctx); r.code != 0 {
			t.Fatalf("build with RUN --mount: %v", r)
		}
		look := func(want string) {
			t.Helper()
			r := m.skiff("run", "--rm", img, "sh", "-c", "cat /seen /copied /one-copied /from-stage; for p in /cache /data /one.txt /g /scratch; do test -e $p && echo left:$p; done; true")
			if norm(r.stdout) != want {
				t.Errorf("the built image: got %q, want %q (%v)", r.stdout, want, r)
			}
		}
		look("1\nhello\nhello\nfrom-stage")
		// the cache is kept: a build without the build cache runs the step on it again
		if r := m.skiff("build", "-q", "--no-cache", "-t", img, ctx); r.code != 0 {
			t.Fatalf("build --no-cache: %v", r)
		}
		look("2\nhello\nhello\nfrom-stage")
		// a bound file is part of the step's key: changed, the step runs again
		if err := os.WriteFile(filepath.Join(ctx, "data/hello"), []byte("changed\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := m.skiff("build", "-t", img, ctx); r.code != 0 || !strings.Contains(r.stdout+r.stderr, "Using cache") {
			t.Fatalf("build after a bound file changed: %v", r)
		}
		look("2\nchanged\nchanged\nfrom-stage")

		// a bind mount is read-only without rw: the step fails as docker's does (exit 1)
		ro := writeDockerfile(t, m, ctx, "Ro", "RUN --mount=type=bind,source=data,target=/data touch /data/x")
		if r := m.skiff("build", "-q", "-f", ro, ctx); r.code != 1 || !strings.Contains(r.stderr, "exited with code") {
			t.Errorf("a write to a read-only bind mount: want the step to fail: %v", r)
		}
		bad := map[string]string{
			"RUN --mount=type=secret,id=x cat /run/secrets/x":  "type=secret",
			"RUN --mount=type=tmpfs true":                      "target",
			"RUN --mount=type=bind,source=nope,target=/n true": "nope",
			"RUN --network=bogus true":                         "bogus",
		}
		buildFails(t, m, ctx, bad)
	})
}

// TestBuildHeredocCopy: COPY and ADD take here-documents as files (BuildKit's): named by
// their delimiter in a directory, $variables expanded unless the delimiter is quoted, mode
// 0644 unless --chmod, beside context files; a changed here-document runs the step again.
func TestBuildHeredocCopy(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		dockerfile := func(word string) string {
			return `FROM bbtest
ARG WHO=world
ENV GREET=hi
COPY <<EOF /etc/greeting
$GREET ${WHO} "` + word + `"
EOF
COPY <<"EOF" /etc/raw
$GREET ${WHO}
EOF
COPY --chmod=755 --chown=1000:1000 <<A ctxfile /multi/
#!/bin/sh
echo from-script
A
ADD <<EOF /added
added $WHO
EOF
`
		}
		ctx := buildDir(t, m, "build-heredoc", map[string]string{"Dockerfile": dockerfile("one"), "ctxfile": "ctx\n"})
		img := "localhost/build-heredoc-" + m.name
		defer m.skiff("rmi", "-f", img)
		if r := m.skiff("build", "-q", "-t", img, ctx); r.code != 0 {
			t.Fatalf("build with COPY <<EOF: %v", r)
		}
		check := "cat /etc/greeting /etc/raw /added /multi/ctxfile; stat -c '%a %u:%g' /etc/greeting /multi/A; /multi/A"
		want := "hi world \"one\"\n$GREET ${WHO}\nadded world\nctx\n644 0:0\n755 1000:1000\nfrom-script"
		if r := m.skiff("run", "--rm", img, "sh", "-c", check); norm(r.stdout) != want {
			t.Errorf("the files of COPY <<EOF: got %q, want %q (%v)", r.stdout, want, r)
		}
		if err := os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte(dockerfile("two")), 0o644); err != nil {
			t.Fatal(err)
		}
		if r := m.skiff("build", "-q", "-t", img, ctx); r.code != 0 {
			t.Fatalf("build again: %v", r)
		}
		if r := m.skiff("run", "--rm", img, "cat", "/etc/greeting"); norm(r.stdout) != "hi world \"two\"" {
			t.Errorf("a changed here-document must give a new file: %v", r)
		}
	})
}

// TestBuildAddURL: ADD downloads http(s) URLs as docker does: named by the URL's last part,
// mode 0600 (or --chmod), never unpacked, checked against --checksum; a changed download runs
// the step again; a failed one is a one-line error.
func TestBuildAddURL(t *testing.T) {
	var mu sync.Mutex
	content := "remote-one\n"
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	tw := tar.NewWriter(zw)
	tw.WriteHeader(&tar.Header{Name: "inside.txt", Mode: 0o644, Size: 3})
	tw.Write([]byte("in\n"))
	tw.Close()
	zw.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		switch r.URL.Path {
		case "/dl/file.txt":
			io.WriteString(w, content)
		case "/dl/arch.tar.gz":
			w.Write(gz.Bytes())
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		mu.Lock()
		content = "remote-one\n"
		mu.Unlock()
		dockerfile := "FROM bbtest\n" +
			"ADD " + srv.URL + "/dl/file.txt /r/\n" +
			"ADD " + srv.URL + "/dl/arch.tar.gz /r/\n" +
			"ADD --chmod=644 " + srv.URL + "/dl/file.txt /r/named.txt\n"
		ctx := buildDir(t, m, "build-addurl", map[string]string{"Dockerfile": dockerfile})
		img := "localhost/build-addurl-" + m.name
		defer m.skiff("rmi", "-f", img)
		if r := m.skiff("build", "-q", "-t", img, ctx); r.code != 0 {
			t.Fatalf("build with ADD URL: %v", r)
		}
		check := "cat /r/file.txt /r/named.txt; stat -c '%a %n' /r/file.txt /r/named.txt /r/arch.tar.gz; test -e /r/inside.txt && echo unpacked; true"
		want := "remote-one\nremote-one\n600 /r/file.txt\n644 /r/named.txt\n600 /r/arch.tar.gz"
		if r := m.skiff("run", "--rm", img, "sh", "-c", check); norm(r.stdout) != want {
			t.Errorf("ADD URL: got %q, want %q (%v)", r.stdout, want, r)
		}
		// a changed download is a changed step
		mu.Lock()
		content = "remote-two\n"
		mu.Unlock()
		if r := m.skiff("build", "-q", "-t", img, ctx); r.code != 0 {
			t.Fatalf("build again: %v", r)
		}
		if r := m.skiff("run", "--rm", img, "cat", "/r/file.txt"); norm(r.stdout) != "remote-two" {
			t.Errorf("ADD URL after the file changed: %v", r)
		}
		bad := map[string]string{
			"ADD " + srv.URL + "/dl/missing.txt /x":                                     "404",
			"ADD --checksum=sha256:" + sum("other") + " " + srv.URL + "/dl/file.txt /x": "digest",
			"ADD ftp://127.0.0.1/x /x":                                                  "http",
			"ADD " + srv.URL + "/dl/ /x":                                                "names no file",
		}
		buildFails(t, m, ctx, bad)
		good := "ADD --checksum=sha256:" + sum("remote-two\n") + " " + srv.URL + "/dl/file.txt /x"
		if r := m.skiff("build", "-q", "-f", writeDockerfile(t, m, ctx, "Good", good), ctx); r.code != 0 {
			t.Errorf("ADD --checksum with the right digest: %v", r)
		}
	})
}

// writeDockerfile writes a Dockerfile of the mode's user in ctx: FROM bbtest, then body.
func writeDockerfile(t *testing.T, m *mode, ctx, name, body string) string {
	t.Helper()
	p := filepath.Join(ctx, name)
	if err := os.WriteFile(p, []byte("FROM bbtest\n"+body+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(p, m.uid, m.gid)
	return p
}

// buildFails builds, for each line of bad, FROM bbtest and the line, and wants a one-line
// error naming its word.
func buildFails(t *testing.T, m *mode, ctx string, bad map[string]string) {
	t.Helper()
	for line, want := range bad {
		r := m.skiff("build", "-q", "-f", writeDockerfile(t, m, ctx, "Bad", line), ctx)
		if checkOneLineError(r) != "" || !strings.Contains(r.stderr, want) {
			t.Errorf("%s: want a one-line error naming %q: %v (%s)", line, want, r, checkOneLineError(r))
		}
	}
}
