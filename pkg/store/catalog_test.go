package store

import (
	"archive/tar"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/config"
	"github.com/skiff-project/skiff/pkg/image"
)

// TestCatalogMatchesStorage checks the catalog, which reads containers/storage's files
// itself, against containers/storage's own answers for the same store, with both drivers.
func TestCatalogMatchesStorage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("containers/storage sets file owners: run the unit tests as root (make unit does in CI)")
	}
	for _, driver := range []string{"vfs", "overlay"} {
		t.Run(driver, func(t *testing.T) {
			dir := t.TempDir()
			p := config.Paths{GraphRoot: filepath.Join(dir, "g"), RunRoot: filepath.Join(dir, "r"), RunDir: filepath.Join(dir, "d"), Driver: driver}
			st, err := Open(p)
			if err != nil {
				t.Skipf("no %s store here: %v", driver, err)
			}
			defer st.Close()
			imp := func(names []string, files ...string) *Image {
				var es []entry
				for _, f := range files {
					es = append(es, entry{name: f, typ: tar.TypeReg})
				}
				img, err := st.Import(tarOf(t, es, false), ImportOptions{Names: names, Config: image.ImageConfig{Env: []string{"A=" + files[0]}}, Source: "test"})
				if err != nil {
					t.Fatal(err)
				}
				return img
			}
			a := imp([]string{"localhost/a:latest"}, "etc/a")
			b := imp([]string{"localhost/b:1", "docker.io/library/b:latest"}, "etc/b", "etc/c")
			if err := st.Tag(a, "localhost/a:2"); err != nil {
				t.Fatal(err)
			}

			cat, err := catalog.Open(p.GraphRoot, "") // the driver is detected
			if err != nil {
				t.Fatal(err)
			}
			if cat.Driver != driver {
				t.Fatalf("catalog read driver %q, want %q", cat.Driver, driver)
			}
			all, err := st.S.Images()
			if err != nil {
				t.Fatal(err)
			}
			if got := cat.Images(); len(got) != len(all) {
				t.Fatalf("catalog lists %d images, containers/storage %d", len(got), len(all))
			}
			for _, want := range all {
				got, err := cat.Lookup(want.ID)
				if err != nil {
					t.Fatalf("lookup %s: %v", want.ID, err)
				}
				size, _ := st.S.ImageSize(want.ID)
				if got.ID != want.ID || !slices.Equal(got.Names, want.Names) || got.TopLayer != want.TopLayer ||
					got.Digest != want.Digest.String() || got.Size != size {
					t.Errorf("catalog %+v\nstorage %+v (size %d)", got, want, size)
				}
				if len(got.Config.Config.Env) != 1 || !strings.HasPrefix(got.Config.Config.Env[0], "A=etc/") {
					t.Errorf("config of %s read as %+v", want.ID, got.Config.Config)
				}
				layers, err := cat.Layers(got)
				if err != nil || len(layers) != 1 || layers[0].ID != want.TopLayer {
					t.Errorf("layers of %s: %v, %v", want.ID, layers, err)
				}
				if fi, err := os.Stat(filepath.Join(cat.LayerDir(want.TopLayer), "etc")); err != nil || !fi.IsDir() {
					t.Errorf("layer dir %s lacks the image's files: %v", cat.LayerDir(want.TopLayer), err)
				}
				if driver == "overlay" {
					if link, err := cat.LayerLink(want.TopLayer); err != nil || !strings.HasPrefix(link, "l/") {
						t.Errorf("layer link %q, %v", link, err)
					} else if target, err := filepath.EvalSymlinks(filepath.Join(p.GraphRoot, "overlay", link)); err != nil || target != cat.LayerDir(want.TopLayer) {
						t.Errorf("link %s leads to %s (%v), want %s", link, target, err, cat.LayerDir(want.TopLayer))
					}
				}
			}
			// the second reader gets the same from skiff's index of the store's files; a
			// change to the store makes it read the files again
			if _, err := os.Stat(filepath.Join(p.GraphRoot, "skiff-catalog-"+driver)); err != nil {
				t.Errorf("no index written: %v", err)
			}
			again, err := catalog.Open(p.GraphRoot, "")
			if err != nil {
				t.Fatal(err)
			}
			first, second := cat.Images(), again.Images()
			for i := range first {
				f, s := first[i], second[i]
				if f.ID != s.ID || !slices.Equal(f.Names, s.Names) || f.Size != s.Size || f.Digest != s.Digest ||
					!slices.Equal(f.Digests, s.Digests) || !f.Created.Equal(s.Created) || f.TopLayer != s.TopLayer {
					t.Errorf("from the index:\n%+v\nfrom the JSON:\n%+v", s, f)
				}
			}
			// listing without configs gives the same images and dates, from the index too
			for _, cc := range []*catalog.Catalog{cat, again} {
				sum := cc.Summaries()
				for i := range first {
					if sum[i].ID != first[i].ID || !sum[i].Created.Equal(first[i].Created) || sum[i].Size != first[i].Size {
						t.Errorf("summary %+v, image %+v", sum[i], first[i])
					}
				}
			}
			c := imp([]string{"localhost/c:latest"}, "etc/new")
			if again, err = catalog.Open(p.GraphRoot, ""); err != nil || !again.Has(c.ID) || len(again.Images()) != len(first)+1 {
				t.Errorf("after an import the catalog has %d images (%v), want %d with %.12s", len(again.Images()), err, len(first)+1, c.ID)
			}
			// lookups by short name, full name, second tag, ID prefix
			for ref, want := range map[string]string{"a": a.ID, "a:2": a.ID, "localhost/b:1": b.ID, "b": b.ID, a.ID[:12]: a.ID, "sha256:" + b.ID: b.ID} {
				if got, err := cat.Lookup(ref); err != nil || got.ID != want {
					t.Errorf("Lookup(%q) = %v, %v; want %.12s", ref, got, err, want)
				}
				if !cat.Has(ref) {
					t.Errorf("Has(%q) = false", ref)
				}
			}
			var nf *catalog.NotFoundError
			if _, err := cat.Lookup("nosuch"); !errors.As(err, &nf) {
				t.Errorf("Lookup(nosuch) = %v, want a NotFoundError", err)
			}
			if _, err := cat.Lookup("Bad:Ref:"); err == nil {
				t.Error("a malformed reference was looked up")
			}
		})
	}
}

// TestCatalogEmpty: a store that does not exist yet is an empty catalog, and a damaged
// images.json is an error that says what to do.
func TestCatalogEmpty(t *testing.T) {
	root := t.TempDir()
	cat, err := catalog.Open(filepath.Join(root, "none"), "")
	if err != nil || len(cat.Images()) != 0 {
		t.Fatalf("missing store: %v, %v", cat, err)
	}
	os.MkdirAll(filepath.Join(root, "overlay-images"), 0o700)
	os.MkdirAll(filepath.Join(root, "overlay-layers"), 0o700)
	os.WriteFile(filepath.Join(root, "overlay-images", "images.json"), []byte("[{broken"), 0o600)
	if _, err := catalog.Open(root, ""); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged images.json: %v", err)
	}
}
