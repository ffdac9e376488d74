package build

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// isRemote says whether an ADD source is a URL or a git address rather than a context path.
func isRemote(s string) bool { return strings.Contains(s, "://") || strings.HasPrefix(s, "git@") }

// fetch downloads ADD's source URL into the directory dir, as docker's ADD does: the file is
// named by the last part of the URL's path, has mode 0600 and the server's Last-Modified time,
// and is never unpacked. checksum is ADD --checksum=sha256:HEX ("" for none).
func fetch(raw, dir, checksum string) (extraFile, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return extraFile{}, fmt.Errorf("ADD %s: only http:// and https:// URLs are downloaded: for a git repository, clone it in a RUN step", raw)
	}
	name := path.Base(u.Path)
	if name == "/" || name == "." || name == ".." || u.Path == "" || strings.HasSuffix(u.Path, "/") {
		return extraFile{}, fmt.Errorf("ADD %s: the URL names no file: end it with the file's name", raw)
	}
	client := &http.Client{Timeout: 30 * time.Minute}
	resp, err := client.Get(raw)
	if err != nil {
		return extraFile{}, fmt.Errorf("ADD %s: cannot download it: %v: check the URL and the network", raw, unwrapURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return extraFile{}, fmt.Errorf("ADD %s: the server answered %s: check the URL", raw, resp.Status)
	}
	sub, err := os.MkdirTemp(dir, "add-")
	if err != nil {
		return extraFile{}, err
	}
	p := filepath.Join(sub, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return extraFile{}, err
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return extraFile{}, fmt.Errorf("ADD %s: the download broke off: %v", raw, unwrapURL(err))
	}
	if checksum != "" {
		want, ok := strings.CutPrefix(checksum, "sha256:")
		if got := hex.EncodeToString(h.Sum(nil)); !ok || got != strings.ToLower(want) {
			return extraFile{}, fmt.Errorf("ADD --checksum=%s %s: the download's digest is sha256:%s: check the URL or the checksum", checksum, raw, got)
		}
	}
	mtime := time.Unix(0, 0)
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		mtime = t
	}
	return extraFile{path: p, size: n, mode: 0o600, mtime: mtime, fetched: true}, nil
}

func unwrapURL(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}
