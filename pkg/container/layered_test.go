package container

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// TestLayeredFiles reads files through layer directories as overlay would show them.
func TestLayeredFiles(t *testing.T) {
	root := t.TempDir()
	top, mid, bottom := filepath.Join(root, "top"), filepath.Join(root, "mid"), filepath.Join(root, "bottom")
	write := func(dir, name, content string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(bottom, "etc/passwd", "bottom")
	write(bottom, "etc/group", "bottom-group")
	write(bottom, "opaque/file", "hidden")
	write(bottom, "real/etc/shadow", "through a link")
	write(mid, "etc/passwd", "mid")
	write(mid, "etc/hosts", "mid-hosts")
	os.MkdirAll(filepath.Join(top, "etc"), 0o755)
	os.MkdirAll(filepath.Join(top, "opaque"), 0o755)
	write(top, "opaque/other", "x")
	os.Symlink("/real/etc/shadow", filepath.Join(top, "etc", "shadow"))
	os.Symlink("../real", filepath.Join(top, "rel"))
	opaqueOK := unix.Setxattr(filepath.Join(top, "opaque"), "user.overlay.opaque", []byte("y"), 0) == nil
	whiteoutOK := unix.Mknod(filepath.Join(top, "etc", "hosts"), unix.S_IFCHR|0o000, 0) == nil

	l := layeredFiles{top, mid, bottom}
	tests := []struct {
		name, want string
		missing    bool
		need       bool
	}{
		{"/etc/passwd", "mid", false, true},        // the uppermost layer that has it
		{"etc/group", "bottom-group", false, true}, // relative, from the bottom
		{"/etc/shadow", "through a link", false, true},
		{"/rel/etc/shadow", "through a link", false, true},
		{"/etc/nothing", "", true, true},
		{"/etc/hosts", "", true, whiteoutOK},    // whited out in top
		{"/opaque/file", "", true, opaqueOK},    // hidden by an opaque directory
		{"/opaque/other", "x", false, opaqueOK}, // what the opaque directory has itself
	}
	for _, tt := range tests {
		if !tt.need {
			t.Logf("%s: not checked (no whiteout devices or user xattrs on this file system)", tt.name)
			continue
		}
		b, err := l.ReadFile(tt.name)
		if tt.missing {
			if !errors.Is(err, os.ErrNotExist) {
				t.Errorf("%s: %q, %v; want not found", tt.name, b, err)
			}
			continue
		}
		if err != nil || string(b) != tt.want {
			t.Errorf("%s: %q, %v; want %q", tt.name, b, err, tt.want)
		}
	}
	// a link loop ends
	os.Symlink("/loop", filepath.Join(top, "loop"))
	if _, err := l.ReadFile("/loop"); err == nil {
		t.Error("a symlink loop was followed for ever")
	}
}
