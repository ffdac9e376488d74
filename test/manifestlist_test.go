package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// upload puts a blob into repo with a monolithic upload and returns its descriptor.
func (r *registry) upload(t *testing.T, repo, mediaType string, b []byte) regDesc {
	t.Helper()
	sum := sha256.Sum256(b)
	d := "sha256:" + hex.EncodeToString(sum[:])
	// start an upload session, then finish it with the whole blob
	resp, err := r.client().Post(r.url("/v2/"+repo+"/blobs/uploads/"), "", nil)
	if err != nil {
		t.Fatalf("upload blob: %v", err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusAccepted || loc == "" {
		t.Fatalf("start a blob upload to %s: status %d", repo, resp.StatusCode)
	}
	if !strings.HasPrefix(loc, "http") {
		loc = r.url(loc)
	}
	sep := "?"
	if strings.Contains(loc, "?") {
		sep = "&"
	}
	req, _ := http.NewRequest(http.MethodPut, loc+sep+"digest="+d, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err = r.client().Do(req)
	if err != nil {
		t.Fatalf("upload blob: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("upload blob to %s: status %d", repo, resp.StatusCode)
	}
	return regDesc{MediaType: mediaType, Digest: d, Size: int64(len(b))}
}

// putManifest stores a manifest or index under repo:ref.
func (r *registry) putManifest(t *testing.T, repo, ref, mediaType string, b []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, r.url("/v2/"+repo+"/manifests/"+ref), bytes.NewReader(b))
	req.Header.Set("Content-Type", mediaType)
	resp, err := r.client().Do(req)
	if err != nil {
		t.Fatalf("put manifest: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("put manifest %s:%s: status %d", repo, ref, resp.StatusCode)
	}
}

// TestManifestList pushes busybox for linux/amd64 and a small image for linux/arm64 under one
// OCI index: pull picks this host's platform, --platform picks the other.
func TestManifestList(t *testing.T) {
	rs := startRegistries(t)
	P := rs.plain.addr
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		repo := m.name + "/multiarch"
		m.mustSkiff(t, "push", "--tls-verify=false", "--format", "oci", "bbtest", P+"/"+repo+":amd64")
		amd := rs.plain.manifest(t, repo, "amd64")

		// the arm64 image: one small layer, a config saying arm64
		layer, err := layerTar(regLayer{entries: []regEntry{{name: "arch", typ: '0', mode: 0o644, body: []byte("arm64\n")}}})
		if err != nil {
			t.Fatal(err)
		}
		ld := rs.plain.upload(t, repo, "application/vnd.oci.image.layer.v1.tar", layer)
		cfg := fmt.Sprintf(`{"architecture":"arm64","os":"linux","config":{"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":["%s"]}}`, ld.Digest)
		cd := rs.plain.upload(t, repo, "application/vnd.oci.image.config.v1+json", []byte(cfg))
		arm, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
			"config": cd, "layers": []regDesc{ld}})
		rs.plain.putManifest(t, repo, "arm64", "application/vnd.oci.image.manifest.v1+json", arm)
		armSum := sha256.Sum256(arm)

		index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
			"manifests": []map[string]any{
				{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:" + hex.EncodeToString(armSum[:]),
					"size": len(arm), "platform": map[string]string{"os": "linux", "architecture": "arm64"}},
				{"mediaType": amd.MediaType, "digest": amd.Digest, "size": len(amd.Raw),
					"platform": map[string]string{"os": "linux", "architecture": "amd64"}},
			}})
		rs.plain.putManifest(t, repo, "multi", "application/vnd.oci.image.index.v1+json", index)

		fresh := freshStore(t, m)
		ref := P + "/" + repo + ":multi"
		m.mustSkiff(t, append(fresh, "pull", "-q", "--tls-verify=false", ref)...)
		r := m.mustSkiff(t, append(fresh, "inspect", "--format", "{{.Architecture}}", ref)...)
		if norm(r.stdout) != "amd64" {
			t.Errorf("[%s] pull of a manifest list took %q, want this host's amd64", m.name, r.stdout)
		}
		if r := m.skiff(append(fresh, "run", "--rm", ref, "echo", "host-platform")...); norm(r.stdout) != "host-platform" {
			t.Errorf("[%s] run of the pulled list: %v", m.name, r)
		}
		// a no-op pull of the list is recognised as up to date
		if r := m.skiff(append(fresh, "pull", "--tls-verify=false", ref)...); r.code != 0 || !strings.Contains(r.stderr, "up to date") {
			t.Errorf("[%s] second pull of the list: %v", m.name, r)
		}
		m.mustSkiff(t, append(fresh, "rmi", ref)...)
		m.mustSkiff(t, append(fresh, "pull", "-q", "--tls-verify=false", "--platform", "linux/arm64", ref)...)
		r = m.mustSkiff(t, append(fresh, "inspect", "--format", "{{.Architecture}}", ref)...)
		if norm(r.stdout) != "arm64" {
			t.Errorf("[%s] --platform linux/arm64 took %q", m.name, r.stdout)
		}
		if r := m.skiff(append(fresh, "pull", "--tls-verify=false", "--platform", "linux/s390x", P+"/"+repo+":multi")...); r.code != 125 {
			t.Errorf("[%s] a platform the list lacks: want 125, got %v", m.name, r)
		}
	})
}
