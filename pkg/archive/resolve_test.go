package archive

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// destTree makes a destination: a file, a directory, and symlinks to both
// and to nowhere.
func destTree(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	must(t, os.WriteFile(filepath.Join(d, "file"), []byte("old"), 0o644))
	must(t, os.Mkdir(filepath.Join(d, "dir"), 0o755))
	must(t, os.Symlink("dir", filepath.Join(d, "link-dir")))
	must(t, os.Symlink(filepath.Join(d, "file"), filepath.Join(d, "link-file")))
	must(t, os.Symlink("target", filepath.Join(d, "dangling")))
	return d
}

func TestResolve(t *testing.T) {
	file := Source{Base: "src"}
	dir := Source{Base: "src", Dir: true}
	contents := Source{Base: "src", Dir: true, Contents: true}
	for _, tc := range []struct {
		what     string
		src      Source
		dest     string
		dir      string // relative to the tree; "" with an error
		name     string
		errorHas string
	}{
		{"file to missing", file, "new", ".", "new", ""},
		{"file to missing/", file, "new/", "", "", "new/: no such directory"},
		{"file to missing parent", file, "nope/new", "", "", "nope: no such directory"},
		{"file to dir", file, "dir", "dir", "src", ""},
		{"file to dir/", file, "dir/", "dir", "src", ""},
		{"file to file", file, "file", ".", "file", ""},
		{"file to file/", file, "file/", "", "", "file/: not a directory"},
		{"file to symlink to dir", file, "link-dir", "dir", "src", ""},
		{"file to symlink to file", file, "link-file", ".", "file", ""},
		{"file to dangling symlink", file, "dangling", ".", "target", ""},
		{"dir to missing", dir, "new", ".", "new", ""},
		{"dir to missing/", dir, "new/", ".", "new", ""},
		{"dir to missing parent", dir, "nope/new", "", "", "nope: no such directory"},
		{"dir to file", dir, "file", "", "", "file: cannot copy a directory to a file"},
		{"dir to symlink to file", dir, "link-file", "", "", "link-file: cannot copy a directory to a file"},
		{"dir to dir", dir, "dir", "dir", "src", ""},
		{"dir/. to dir", contents, "dir", "dir", ".", ""},
		{"dir/. to symlink to dir", contents, "link-dir", "dir", ".", ""},
		{"dir/. to missing", contents, "new", ".", "new", ""},
		{"root to dir", Source{Base: ".", Dir: true}, "dir", "dir", ".", ""},
	} {
		t.Run(tc.what, func(t *testing.T) {
			tree := destTree(t)
			gotDir, gotName, err := Resolve(filepath.Join(tree, tc.dest)+suffix(tc.dest), tc.src)
			if tc.errorHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errorHas) {
					t.Fatalf("Resolve = %q, %q, %v; want an error with %q", gotDir, gotName, err, tc.errorHas)
				}
				return
			}
			want := filepath.Join(tree, tc.dir)
			if err != nil || gotDir != want || gotName != tc.name {
				t.Fatalf("Resolve = %q, %q, %v; want %q, %q", gotDir, gotName, err, want, tc.name)
			}
		})
	}
}

// suffix is the trailing slash of p, which filepath.Join drops.
func suffix(p string) string {
	if strings.HasSuffix(p, "/") {
		return "/"
	}
	return ""
}

func TestStat(t *testing.T) {
	tree := destTree(t)
	for _, tc := range []struct {
		path     string
		follow   bool
		want     Source
		errorHas string
	}{
		{"file", false, Source{Base: "file"}, ""},
		{"dir", false, Source{Base: "dir", Dir: true}, ""},
		{"dir/", false, Source{Base: "dir", Dir: true}, ""},
		{"dir/.", false, Source{Base: "dir", Dir: true, Contents: true}, ""},
		{"link-dir", false, Source{Base: "link-dir"}, ""},
		{"link-dir", true, Source{Base: "link-dir", Dir: true}, ""},
		{"dangling", true, Source{}, "dangling: no such file or directory"},
		{"nope", false, Source{}, "nope: no such file or directory"},
		{"file/.", false, Source{}, "file/.: not a directory"},
	} {
		p := filepath.Join(tree, tc.path)
		if strings.HasSuffix(tc.path, "/.") {
			p += "/."
		}
		got, err := Stat(p, tc.follow)
		if tc.errorHas != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errorHas) {
				t.Errorf("Stat(%q, %v) = %+v, %v; want an error with %q", tc.path, tc.follow, got, err, tc.errorHas)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Stat(%q, %v) = %+v, %v; want %+v", tc.path, tc.follow, got, err, tc.want)
		}
	}
	if got, err := Stat("/", false); err != nil || got != (Source{Base: ".", Dir: true}) {
		t.Errorf("Stat(/) = %+v, %v", got, err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
