package transfer

import (
	"archive/tar"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/containers/image/v5/copy"
	dockerarchive "github.com/containers/image/v5/docker/archive"
	"github.com/containers/image/v5/docker/reference"
	ociarchive "github.com/containers/image/v5/oci/archive"
	ocilayout "github.com/containers/image/v5/oci/layout"
	"github.com/containers/image/v5/signature"
	"github.com/containers/image/v5/types"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

func copyImage(pc *signature.PolicyContext, dst, src types.ImageReference, co *copy.Options) ([]byte, error) {
	return copy.Image(background(), pc, dst, src, co)
}

// SaveImage is one image to save: its full name (may be empty for an ID) and store ID.
type SaveImage struct {
	Name string
	ID   string
}

// Save writes images to path as docker-archive (several images), oci-archive (one) or oci-dir.
func Save(o Options, images []SaveImage, format, path string) error {
	sys, err := o.SystemContext()
	if err != nil {
		return err
	}
	pc, err := o.policyContext(sys)
	if err != nil {
		return err
	}
	defer pc.Destroy()
	srcOf := func(im SaveImage) (types.ImageReference, reference.NamedTagged, error) {
		var named reference.Named
		if im.Name != "" {
			n, err := reference.ParseNormalizedNamed(im.Name)
			if err != nil {
				return nil, nil, err
			}
			named = n
		}
		ref, err := o.storeRef(named)
		if err != nil {
			return nil, nil, err
		}
		if named == nil {
			if ref, err = storeRefByID(o, im.ID); err != nil {
				return nil, nil, err
			}
		}
		nt, _ := named.(reference.NamedTagged)
		return ref, nt, nil
	}
	switch format {
	case "", "docker-archive":
		w, err := dockerarchive.NewWriter(sys, path)
		if err != nil {
			return fmt.Errorf("create %s: %w", path, err)
		}
		for _, im := range images {
			src, nt, err := srcOf(im)
			if err != nil {
				w.Close()
				return err
			}
			dst, err := w.NewReference(nt)
			if err != nil {
				w.Close()
				return err
			}
			if _, err := copyImage(pc, dst, src, o.copyOptions(sys)); err != nil {
				w.Close()
				return Explain("save "+displayName(im), err)
			}
		}
		return w.Close()
	case "oci-archive", "oci-dir":
		if format == "oci-archive" && len(images) != 1 {
			return fmt.Errorf("oci-archive holds one image: save several with --format docker-archive or oci-dir")
		}
		newRef := ocilayout.NewReference
		if format == "oci-archive" {
			newRef = ociarchive.NewReference
		}
		for _, im := range images {
			src, nt, err := srcOf(im)
			if err != nil {
				return err
			}
			name := ""
			if nt != nil {
				name = nt.String()
			}
			dst, err := newRef(path, name)
			if err != nil {
				return err
			}
			co := o.copyOptions(sys)
			co.ForceManifestMIMEType = imgspecv1.MediaTypeImageManifest
			if _, err := copyImage(pc, dst, src, co); err != nil {
				return Explain("save "+displayName(im), err)
			}
		}
		return nil
	}
	return fmt.Errorf("invalid --format %q: use docker-archive, oci-archive or oci-dir", format)
}

func displayName(im SaveImage) string {
	if im.Name != "" {
		return im.Name
	}
	return im.ID
}

func storeRefByID(o Options, id string) (types.ImageReference, error) {
	return storeTransportRefByID(o, id)
}

// Loaded is one image load put in the store.
type Loaded struct {
	ID    string
	Names []string
}

// Load reads a docker-archive, oci-archive or oci-dir and stores every image in it.
func Load(o Options, path string) ([]Loaded, error) {
	sys, err := o.SystemContext()
	if err != nil {
		return nil, err
	}
	pc, err := o.policyContext(sys)
	if err != nil {
		return nil, err
	}
	defer pc.Destroy()
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return loadOCI(o, sys, pc, path, true)
	}
	kind, err := archiveKind(path)
	if err != nil {
		return nil, err
	}
	if kind == "oci" {
		return loadOCI(o, sys, pc, path, false)
	}
	r, err := dockerarchive.NewReader(sys, path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer r.Close()
	lists, err := r.List()
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	var out []Loaded
	for _, refs := range lists {
		if len(refs) == 0 {
			continue
		}
		var names []reference.Named
		for _, ref := range refs {
			if n := ref.DockerReference(); n != nil {
				names = append(names, n)
			}
		}
		var first reference.Named
		if len(names) > 0 {
			first = names[0]
		}
		dst, err := o.storeRef(first)
		if err != nil {
			return out, err
		}
		if _, err := copyImage(pc, dst, refs[0], o.copyOptions(sys)); err != nil {
			return out, Explain("load "+path, err)
		}
		id, err := o.storeImageID(dst)
		if err != nil {
			return out, err
		}
		l := Loaded{ID: id}
		for _, n := range names {
			l.Names = append(l.Names, n.String())
		}
		if len(l.Names) > 1 {
			if err := o.Store.S.AddNames(id, l.Names[1:]); err != nil {
				return out, err
			}
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no image", path)
	}
	return out, nil
}

// archiveKind tells a docker-archive ("docker") from an oci-archive ("oci") by its entries.
func archiveKind(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return "", fmt.Errorf("%s is neither a docker-archive nor an oci-archive (no manifest.json or index.json)", path)
		}
		if err != nil {
			return "", fmt.Errorf("%s is not an image archive (a tar made by skiff save, docker save or podman save): %v", path, err)
		}
		switch strings.TrimPrefix(h.Name, "./") {
		case "manifest.json":
			return "docker", nil
		case "index.json", "oci-layout":
			return "oci", nil
		}
	}
}

// loadOCI stores each image of an OCI layout (a directory or an oci-archive), named after its
// org.opencontainers.image.ref.name annotation when that is a full reference.
func loadOCI(o Options, sys *types.SystemContext, pc *signature.PolicyContext, path string, dir bool) ([]Loaded, error) {
	idx, err := readIndex(path, dir)
	if err != nil {
		return nil, err
	}
	var out []Loaded
	for i, m := range idx.Manifests {
		refName := m.Annotations[imgspecv1.AnnotationRefName]
		var src types.ImageReference
		if dir {
			src, err = ocilayout.NewIndexReference(path, i)
		} else {
			src, err = ociarchive.NewReference(path, refName)
			if refName == "" && len(idx.Manifests) > 1 {
				return out, fmt.Errorf("%s holds several unnamed images: skiff can load them from an oci-dir", path)
			}
		}
		if err != nil {
			return out, err
		}
		var named reference.Named
		if n, err := reference.ParseNormalizedNamed(refName); err == nil && refName != "" && strings.ContainsAny(refName, "/:") {
			named = reference.TagNameOnly(n)
		} else if n, err := reference.ParseNormalizedNamed("localhost/" + refName); err == nil && refName != "" {
			named = reference.TagNameOnly(n) // a bare name, as the OCI layout allows: localhost/NAME:latest
		}
		var dst types.ImageReference
		if named != nil {
			dst, err = o.storeRef(named)
		} else {
			// unnamed: stored under its ID, the config's digest
			dst, err = o.unnamedRef(sys, src)
		}
		if err != nil {
			return out, Explain("load "+path, err)
		}
		if _, err := copyImage(pc, dst, src, o.copyOptions(sys)); err != nil {
			return out, Explain("load "+path, err)
		}
		id, err := o.storeImageID(dst)
		if err != nil {
			return out, err
		}
		l := Loaded{ID: id}
		if named != nil {
			l.Names = []string{named.String()}
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s holds no image", path)
	}
	return out, nil
}

func readIndex(path string, dir bool) (*imgspecv1.Index, error) {
	var b []byte
	var err error
	if dir {
		b, err = os.ReadFile(filepath.Join(path, "index.json"))
	} else {
		b, err = tarFile(path, "index.json")
	}
	if err != nil {
		return nil, fmt.Errorf("read the OCI index of %s: %w", path, err)
	}
	var idx imgspecv1.Index
	if err := json.Unmarshal(b, &idx); err != nil {
		return nil, fmt.Errorf("the OCI index of %s is malformed: %w", path, err)
	}
	return &idx, nil
}

func tarFile(path, name string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("no %s: %w", name, err)
		}
		if strings.TrimPrefix(h.Name, "./") == name {
			return io.ReadAll(io.LimitReader(tr, 16<<20))
		}
	}
}
