// Package registry answers one question cheaply, for `skiff pull` of an image the store already
// has: which manifest does the registry serve for this tag now? It sends a single HEAD request
// (distribution API v2) and nothing else; any answer other than a plain digest — authentication,
// redirects, errors — is left to containers/image in the skiff-image helper, which does all real
// registry work.
package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	digest "github.com/opencontainers/go-digest"
)

// ErrNoAnswer means the probe could not tell: the caller must do a full pull.
var ErrNoAnswer = errors.New("registry gave no plain answer")

// accept lists the manifest types skiff can use, as containers/image asks for them.
var accept = strings.Join([]string{
	"application/vnd.oci.image.manifest.v1+json",
	"application/vnd.oci.image.index.v1+json",
	"application/vnd.docker.distribution.manifest.v2+json",
	"application/vnd.docker.distribution.manifest.list.v2+json",
}, ", ")

// ManifestDigest returns the digest the registry serves for repo:tag. With insecure, TLS
// certificates are not verified and plain HTTP is tried when the registry does not speak TLS.
func ManifestDigest(ctx context.Context, registry, repo, tag string, insecure bool) (digest.Digest, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: insecure}, DisableKeepAlives: true}
	client := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// Without verification a registry may speak plain HTTP (the usual local one does): ask
	// that way first; a TLS-only registry refuses it and is asked over HTTPS next.
	schemes := []string{"https"}
	if insecure {
		schemes = []string{"http", "https"}
	}
	var lastErr error
	for _, scheme := range schemes {
		url := fmt.Sprintf("%s://%s/v2/%s/manifests/%s", scheme, registry, repo, tag)
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, url, nil)
		if err != nil {
			return "", err
		}
		req.Header.Set("Accept", accept)
		resp, err := client.Do(req)
		if err != nil {
			lastErr = err
			continue
		}
		resp.Body.Close()
		if scheme == "http" && resp.StatusCode == http.StatusBadRequest {
			lastErr = fmt.Errorf("HTTP 400 over plain HTTP")
			continue // a TLS server answering plain HTTP
		}
		if resp.StatusCode != http.StatusOK {
			return "", fmt.Errorf("%w: HTTP %d", ErrNoAnswer, resp.StatusCode)
		}
		d, err := digest.Parse(resp.Header.Get("Docker-Content-Digest"))
		if err != nil {
			return "", fmt.Errorf("%w: no Docker-Content-Digest", ErrNoAnswer)
		}
		return d, nil
	}
	return "", fmt.Errorf("%w: %v", ErrNoAnswer, lastErr)
}
