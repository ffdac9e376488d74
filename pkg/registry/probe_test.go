package registry

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestManifestDigest(t *testing.T) {
	const d = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method != http.MethodHead || !strings.Contains(r.Header.Get("Accept"), "oci.image.manifest"):
			w.WriteHeader(http.StatusBadRequest)
		case r.URL.Path == "/v2/app/manifests/1":
			w.Header().Set("Docker-Content-Digest", d)
		case r.URL.Path == "/v2/auth/manifests/1":
			w.WriteHeader(http.StatusUnauthorized)
		case r.URL.Path == "/v2/nodigest/manifests/1":
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	})
	plain := httptest.NewServer(handler)
	defer plain.Close()
	tlsSrv := httptest.NewTLSServer(handler)
	defer tlsSrv.Close()
	host := func(u string) string { return strings.TrimPrefix(strings.TrimPrefix(u, "http://"), "https://") }
	tests := []struct {
		name, registry, repo string
		insecure             bool
		want                 string
		noAnswer             bool
	}{
		{"plain http when insecure", host(plain.URL), "app", true, d, false},
		{"plain http refused when verifying", host(plain.URL), "app", false, "", true},
		{"self-signed tls when insecure", host(tlsSrv.URL), "app", true, d, false},
		{"self-signed tls refused when verifying", host(tlsSrv.URL), "app", false, "", true},
		{"401 goes to the full pull", host(plain.URL), "auth", true, "", true},
		{"404 goes to the full pull", host(plain.URL), "missing", true, "", true},
		{"no digest header", host(plain.URL), "nodigest", true, "", true},
		{"unreachable", "127.0.0.1:1", "app", true, "", true},
	}
	for _, tt := range tests {
		got, err := ManifestDigest(context.Background(), tt.registry, tt.repo, "1", tt.insecure)
		if tt.noAnswer {
			if !errors.Is(err, ErrNoAnswer) {
				t.Errorf("%s: err = %v, want ErrNoAnswer", tt.name, err)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("%s: got %s, %v; want %s", tt.name, got, err, tt.want)
		}
	}
}
