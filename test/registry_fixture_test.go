package integration

// Fixtures of the registry tests (registry_test.go): Debian's docker-registry started on
// 127.0.0.1 (one plain HTTP, one with htpasswd auth and TLS with a certificate made here), its
// access log read back to count blob requests, its HTTP API, and OCI image layouts written here.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// registry is one docker-registry process.
type registry struct {
	addr    string // 127.0.0.1:PORT
	dir     string // config, log, storage
	data    string // the storage rootdirectory
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}

	tls        bool
	certDir    string // directory with ca.crt, for --cert-dir (readable by everyone)
	user, pass string
}

type registries struct {
	plain *registry // HTTP, no auth
	auth  *registry // HTTPS (self-signed) + htpasswd
}

var (
	regMu   sync.Mutex
	regSet  *registries
	regTool = map[string]string{ // binary: Debian package
		"docker-registry": "docker-registry",
		"htpasswd":        "apache2-utils",
		"skopeo":          "skopeo",
		"podman":          "podman",
		"runc":            "runc",
	}
)

// needTool makes sure bin is on PATH, installing its Debian package when the tests run as root;
// it fails the test (never skips) when that is impossible.
func needTool(t testing.TB, bin string) string {
	t.Helper()
	if p, err := exec.LookPath(bin); err == nil {
		return p
	}
	pkg := regTool[bin]
	if pkg == "" {
		t.Fatalf("%s is missing and no Debian package is known for it", bin)
	}
	if os.Getuid() != 0 {
		t.Fatalf("%s is missing and the tests do not run as root, so they cannot apt-get install %s", bin, pkg)
	}
	c := exec.Command("apt-get", "install", "-y", "--no-install-recommends", pkg)
	c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	if out, err := c.CombinedOutput(); err != nil {
		t.Fatalf("%s is missing and apt-get install %s failed: %v: %s", bin, pkg, err, clip(string(out)))
	}
	p, err := exec.LookPath(bin)
	if err != nil {
		t.Fatalf("%s still missing after apt-get install %s", bin, pkg)
	}
	return p
}

// freePort asks the kernel for a free TCP port on 127.0.0.1.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startRegistries starts both registries once per top-level test that asks for them and stops
// them by PID when that test ends.
func startRegistries(t *testing.T) *registries {
	t.Helper()
	regMu.Lock()
	defer regMu.Unlock()
	if regSet != nil {
		return regSet
	}
	needTool(t, "docker-registry")
	needTool(t, "htpasswd")
	rs := &registries{}
	t.Cleanup(func() {
		regMu.Lock()
		defer regMu.Unlock()
		for _, r := range []*registry{rs.plain, rs.auth} {
			if r != nil {
				r.stop()
			}
		}
		regSet = nil
	})
	var err error
	if rs.plain, err = newRegistry(t, false); err != nil {
		t.Fatalf("start the plain registry: %v", err)
	}
	if rs.auth, err = newRegistry(t, true); err != nil {
		t.Fatalf("start the auth+TLS registry: %v", err)
	}
	regSet = rs
	return rs
}

func newRegistry(t *testing.T, secure bool) (*registry, error) {
	dir, err := os.MkdirTemp(tmpRoot, "registry-")
	if err != nil {
		return nil, err
	}
	os.Chmod(dir, 0o755)
	r := &registry{addr: fmt.Sprintf("127.0.0.1:%d", freePort(t)), dir: dir, data: filepath.Join(dir, "data"),
		logPath: filepath.Join(dir, "log"), tls: secure, done: make(chan struct{})}
	if err := os.MkdirAll(r.data, 0o755); err != nil {
		return nil, err
	}
	cfg := fmt.Sprintf("version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n  maintenance:\n    uploadpurging:\n      enabled: false\nhttp:\n  addr: %s\n", r.data, r.addr)
	if secure {
		r.user, r.pass = "skiffuser", "s3cret-pass"
		out, err := exec.Command("htpasswd", "-Bbn", r.user, r.pass).Output()
		if err != nil {
			return nil, fmt.Errorf("htpasswd: %v", err)
		}
		hp := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(hp, out, 0o600); err != nil {
			return nil, err
		}
		r.certDir = filepath.Join(dir, "certs")
		crt, key, err := writeSelfSigned(r.certDir)
		if err != nil {
			return nil, err
		}
		cfg += fmt.Sprintf("  tls:\n    certificate: %s\n    key: %s\nauth:\n  htpasswd:\n    realm: skiff-test\n    path: %s\n", crt, key, hp)
	}
	cp := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cp, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	lf, err := os.Create(r.logPath)
	if err != nil {
		return nil, err
	}
	defer lf.Close()
	r.cmd = exec.Command("docker-registry", "serve", cp)
	r.cmd.Stdout, r.cmd.Stderr = lf, lf
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { r.cmd.Wait(); close(r.done) }()
	c := r.client()
	up := waitFor(15*time.Second, func() bool {
		select {
		case <-r.done:
			return true
		default:
		}
		resp, err := c.Get(r.url("/v2/"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200 || resp.StatusCode == 401
	})
	select {
	case <-r.done:
		b, _ := os.ReadFile(r.logPath)
		return nil, fmt.Errorf("docker-registry exited at once: %s", clip(string(b)))
	default:
	}
	if !up {
		r.stop()
		b, _ := os.ReadFile(r.logPath)
		return nil, fmt.Errorf("docker-registry did not answer on %s within 15 s: %s", r.addr, clip(string(b)))
	}
	return r, nil
}

// stop kills the registry by its PID and waits for it.
func (r *registry) stop() {
	if r.cmd == nil || r.cmd.Process == nil {
		return
	}
	syscall.Kill(r.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	}
}

// writeSelfSigned writes a self-signed certificate (its own CA, IP SAN 127.0.0.1) as
// dir/ca.crt (world-readable, for --cert-dir) and the key outside dir (root only).
func writeSelfSigned(dir string) (crt, key string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	os.Chmod(dir, 0o755)
	pk, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "127.0.0.1", Organization: []string{"skiff tests"}},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &pk.PublicKey, pk)
	if err != nil {
		return "", "", err
	}
	kb, err := x509.MarshalECPrivateKey(pk)
	if err != nil {
		return "", "", err
	}
	crt = filepath.Join(dir, "ca.crt")
	key = filepath.Join(filepath.Dir(dir), "registry.key")
	if err := os.WriteFile(crt, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return "", "", err
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		return "", "", err
	}
	return crt, key, nil
}

func (r *registry) url(path string) string {
	if r.tls {
		return "https://" + r.addr + path
	}
	return "http://" + r.addr + path
}

// client talks to the registry's API, trusting its certificate.
func (r *registry) client() *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	if r.tls {
		pool := x509.NewCertPool()
		if b, err := os.ReadFile(filepath.Join(r.certDir, "ca.crt")); err == nil {
			pool.AppendCertsFromPEM(b)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	}
	return &http.Client{Transport: tr, Timeout: 20 * time.Second}
}

const manifestAccept = "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json"

// regManifest is a manifest as the registry serves it.
type regManifest struct {
	MediaType string // Content-Type of the answer
	Digest    string // Docker-Content-Digest
	Raw       []byte
	Config    regDesc
	Layers    []regDesc
}

type regDesc struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// manifest GETs /v2/REPO/manifests/REF.
func (r *registry) manifest(t testing.TB, repo, ref string) regManifest {
	t.Helper()
	m, code, err := r.getManifest(repo, ref)
	if err != nil || code != 200 {
		t.Fatalf("GET %s manifest %s:%s: status %d, %v", r.addr, repo, ref, code, err)
	}
	return m
}

func (r *registry) getManifest(repo, ref string) (regManifest, int, error) {
	var m regManifest
	req, _ := http.NewRequest("GET", r.url("/v2/"+repo+"/manifests/"+ref), nil)
	req.Header.Set("Accept", manifestAccept)
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := r.client().Do(req)
	if err != nil {
		return m, 0, err
	}
	defer resp.Body.Close()
	m.Raw, err = io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 {
		return m, resp.StatusCode, err
	}
	m.MediaType = strings.TrimSpace(strings.Split(resp.Header.Get("Content-Type"), ";")[0])
	m.Digest = resp.Header.Get("Docker-Content-Digest")
	var body struct {
		Config regDesc   `json:"config"`
		Layers []regDesc `json:"layers"`
	}
	if err := json.Unmarshal(m.Raw, &body); err != nil {
		return m, resp.StatusCode, fmt.Errorf("manifest is not JSON: %v", err)
	}
	m.Config, m.Layers = body.Config, body.Layers
	return m, 200, nil
}

// tags lists /v2/REPO/tags/list.
func (r *registry) tags(t testing.TB, repo string) []string {
	t.Helper()
	req, _ := http.NewRequest("GET", r.url("/v2/"+repo+"/tags/list"), nil)
	if r.user != "" {
		req.SetBasicAuth(r.user, r.pass)
	}
	resp, err := r.client().Do(req)
	if err != nil {
		t.Fatalf("tags of %s: %v", repo, err)
	}
	defer resp.Body.Close()
	var body struct {
		Tags []string `json:"tags"`
	}
	if resp.StatusCode != 200 {
		t.Fatalf("tags of %s: status %d", repo, resp.StatusCode)
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return body.Tags
}

// blobPath is where the registry's filesystem driver keeps a blob's bytes.
func (r *registry) blobPath(digest string) string {
	hx := strings.TrimPrefix(digest, "sha256:")
	return filepath.Join(r.data, "docker", "registry", "v2", "blobs", "sha256", hx[:2], hx, "data")
}

// regRequest is one line of the registry's access log.
type regRequest struct {
	method, path string
	status       int
}

func (q regRequest) String() string { return fmt.Sprintf("%s %s %d", q.method, q.path, q.status) }

var accessLine = regexp.MustCompile(`"(GET|HEAD|PUT|PATCH|POST|DELETE) (/v2/\S*) HTTP/[0-9.]+" (\d{3}) `)

// logMark is the current end of the registry's log; requestsSince reads the requests after it.
func (r *registry) logMark() int64 {
	st, err := os.Stat(r.logPath)
	if err != nil {
		return 0
	}
	return st.Size()
}

// requestsSince waits for the log to settle (the access log line is written after the answer),
// then parses the requests logged after mark.
func (r *registry) requestsSince(mark int64) []regRequest {
	last := int64(-1)
	stable := 0
	waitFor(3*time.Second, func() bool {
		n := r.logMark()
		if n == last {
			stable++
		} else {
			stable = 0
		}
		last = n
		return stable >= 8 // 160 ms without growth
	})
	f, err := os.Open(r.logPath)
	if err != nil {
		return nil
	}
	defer f.Close()
	f.Seek(mark, io.SeekStart)
	var out []regRequest
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := accessLine.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		var code int
		fmt.Sscan(m[3], &code)
		out = append(out, regRequest{method: m[1], path: m[2], status: code})
	}
	return out
}

// blobGets are the GETs of blobs (downloads).
func blobGets(reqs []regRequest) []regRequest {
	var out []regRequest
	for _, q := range reqs {
		if q.method == "GET" && strings.Contains(q.path, "/blobs/sha256:") {
			out = append(out, q)
		}
	}
	return out
}

// ---- OCI image layouts written by the tests ----

// regEntry is one tar entry of a layer, with owner.
type regEntry struct {
	name, link string
	typ        byte
	mode       int64
	uid, gid   int
	body       []byte
}

// regLayer is a layer: entries, or raw tar bytes (raw wins), gzip-compressed or not.
type regLayer struct {
	entries   []regEntry
	raw       []byte
	gzip      bool
	createdBy string
}

// regImage is an image to write into an OCI layout.
type regImage struct {
	ref      string // org.opencontainers.image.ref.name, e.g. localhost/regmulti:1
	layers   []regLayer
	labels   map[string]string
	emptyCmd bool   // add an empty-layer history step "CMD [sh]"
	created  string // RFC 3339, default a fixed date
}

// writeEntries writes entries with a fixed time, PAX headers, and 0644 files and 0755
// directories unless a mode is given.
func writeEntries(tw *tar.Writer, entries []regEntry) error {
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: e.mode, Uid: e.uid, Gid: e.gid,
			ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
			if e.typ == tar.TypeDir {
				h.Mode = 0o755
			}
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil {
				return err
			}
		}
	}
	return nil
}

func layerTar(l regLayer) ([]byte, error) {
	if l.raw != nil {
		return l.raw, nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := writeEntries(tw, l.entries); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// writeBlob stores b in the layout's blobs/sha256 and returns its descriptor.
func writeBlob(dir, mediaType string, b []byte) (regDesc, error) {
	d := sha(b)
	p := filepath.Join(dir, "blobs", "sha256", strings.TrimPrefix(d, "sha256:"))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return regDesc{}, err
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		return regDesc{}, err
	}
	return regDesc{MediaType: mediaType, Digest: d, Size: int64(len(b))}, nil
}

// writeOCILayout writes images into the OCI image layout directory dir (world-readable) and
// returns the config digests (= the image IDs a store gives them), in order.
func writeOCILayout(dir string, imgs []regImage) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	type histEntry struct {
		Created    string `json:"created"`
		CreatedBy  string `json:"created_by,omitempty"`
		EmptyLayer bool   `json:"empty_layer,omitempty"`
	}
	var index struct {
		SchemaVersion int `json:"schemaVersion"`
		Manifests     []struct {
			regDesc
			Annotations map[string]string `json:"annotations,omitempty"`
		} `json:"manifests"`
	}
	index.SchemaVersion = 2
	var ids []string
	for _, im := range imgs {
		created := im.created
		if created == "" {
			created = "2024-01-02T03:04:05Z"
		}
		var layers []regDesc
		var diffIDs []string
		var hist []histEntry
		for i, l := range im.layers {
			raw, err := layerTar(l)
			if err != nil {
				return nil, err
			}
			diffIDs = append(diffIDs, sha(raw))
			mt, blob := "application/vnd.oci.image.layer.v1.tar", raw
			if l.gzip {
				var zb bytes.Buffer
				zw, _ := gzip.NewWriterLevel(&zb, gzip.BestSpeed)
				zw.Write(raw)
				zw.Close()
				mt, blob = "application/vnd.oci.image.layer.v1.tar+gzip", zb.Bytes()
			}
			d, err := writeBlob(dir, mt, blob)
			if err != nil {
				return nil, err
			}
			layers = append(layers, d)
			cb := l.createdBy
			if cb == "" {
				cb = fmt.Sprintf("regtest layer %d", i+1)
			}
			hist = append(hist, histEntry{Created: created, CreatedBy: cb})
		}
		if im.emptyCmd {
			hist = append(hist, histEntry{Created: created, CreatedBy: "regtest: CMD [\"sh\"]", EmptyLayer: true})
		}
		cfg := map[string]any{
			"created":      created,
			"architecture": runtime.GOARCH,
			"os":           "linux",
			"config": map[string]any{
				"Env":    []string{"PATH=" + stdPath},
				"Cmd":    []string{"sh"},
				"Labels": im.labels,
			},
			"rootfs":  map[string]any{"type": "layers", "diff_ids": diffIDs},
			"history": hist,
		}
		cb, err := json.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		cd, err := writeBlob(dir, "application/vnd.oci.image.config.v1+json", cb)
		if err != nil {
			return nil, err
		}
		ids = append(ids, strings.TrimPrefix(cd.Digest, "sha256:"))
		man := map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": cd, "layers": layers}
		mb, err := json.Marshal(man)
		if err != nil {
			return nil, err
		}
		md, err := writeBlob(dir, "application/vnd.oci.image.manifest.v1+json", mb)
		if err != nil {
			return nil, err
		}
		e := struct {
			regDesc
			Annotations map[string]string `json:"annotations,omitempty"`
		}{regDesc: md}
		if im.ref != "" {
			e.Annotations = map[string]string{"org.opencontainers.image.ref.name": im.ref}
		}
		index.Manifests = append(index.Manifests, e)
	}
	ib, err := json.Marshal(index)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "index.json"), ib, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644); err != nil {
		return nil, err
	}
	return ids, nil
}

// tarDir writes the directory dir as a tar archive (an oci-archive when dir is a layout).
func tarDir(dir, out string) error {
	if err := run("tar", "-C", dir, "-cf", out, "."); err != nil {
		return err
	}
	return os.Chmod(out, 0o644)
}

// modeDir makes a scratch directory under tmpRoot owned by the mode's user, removed at the end.
func modeDir(t testing.TB, m *mode) string {
	t.Helper()
	d, err := os.MkdirTemp(tmpRoot, "reg-"+m.name+"-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o755)
	if err := os.Chown(d, m.uid, m.gid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// randomBytes is n bytes of random data.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
