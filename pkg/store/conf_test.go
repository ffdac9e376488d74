package store

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/skiff-project/skiff/pkg/config"
)

func TestConfOptions(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, content, flagDriver string
		driver                    string
		opts                      []string
		bad                       bool
	}{
		{"driver and options", "[storage]\ndriver = \"overlay\"\ngraphroot = \"/elsewhere\"\n[storage.options.overlay]\nmount_program = \"/usr/bin/fuse-overlayfs\"\n", "",
			"overlay", []string{"overlay.mount_program=/usr/bin/fuse-overlayfs"}, false},
		{"vfs", "[storage]\ndriver = \"vfs\"\n", "", "vfs", nil, false},
		{"--storage-driver drops the other driver's options", "[storage]\ndriver = \"overlay\"\n[storage.options.overlay]\nmountopt = \"nodev\"\n", "vfs", "overlay", nil, false},
		{"malformed", "[storage\n", "", "", nil, true},
	}
	for _, tt := range tests {
		f := filepath.Join(dir, "storage.conf")
		os.WriteFile(f, []byte(tt.content), 0o644)
		t.Setenv("CONTAINERS_STORAGE_CONF", f)
		o, err := confOptions(config.Paths{Driver: tt.flagDriver})
		if tt.bad {
			if err == nil {
				t.Errorf("%s: want an error", tt.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if o.GraphDriverName != tt.driver || !slices.Equal(o.GraphDriverOptions, tt.opts) {
			t.Errorf("%s: got %q %q, want %q %q", tt.name, o.GraphDriverName, o.GraphDriverOptions, tt.driver, tt.opts)
		}
		if o.GraphRoot != "" || o.RunRoot != "" {
			t.Errorf("%s: paths of storage.conf must not be used: %+v", tt.name, o)
		}
	}
}
