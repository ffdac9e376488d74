package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// HelperPath finds skiff-image: $SKIFF_IMAGE_HELPER, beside this binary, or in libexec.
func HelperPath() (string, error) {
	if p := os.Getenv("SKIFF_IMAGE_HELPER"); p != "" {
		return p, nil
	}
	exe, err := os.Executable()
	if err == nil {
		dir := filepath.Dir(exe)
		for _, p := range []string{filepath.Join(dir, "skiff-image"), filepath.Join(dir, "..", "libexec", "skiff", "skiff-image")} {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	for _, p := range []string{"/usr/local/libexec/skiff/skiff-image", "/usr/libexec/skiff/skiff-image"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("skiff-image not found beside %s or in /usr/local/libexec/skiff: reinstall skiff (make install) or set SKIFF_IMAGE_HELPER", exe)
}
