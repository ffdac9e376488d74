package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/containers/storage"
	digest "github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/image"
)

// Image is an image in the store, with its OCI configuration.
type Image = catalog.Image

// Catalog reads the store's images and layers as they are on disk now.
func (s *Store) Catalog() (*catalog.Catalog, error) { return catalog.Open(s.Paths.GraphRoot, s.Driver) }

// Images lists the images in the store, newest first.
func (s *Store) Images() ([]*Image, error) {
	c, err := s.Catalog()
	if err != nil {
		return nil, err
	}
	return c.Images(), nil
}

// LookupImage finds an image by name (short names tried as localhost/NAME, then docker.io's
// spelling), full ID or unique ID prefix.
func (s *Store) LookupImage(name string) (*Image, error) {
	c, err := s.Catalog()
	if err != nil {
		return nil, err
	}
	return c.Lookup(name)
}

// NewImage stores a one-layer-per-entry image: layers (bottom first, already in the store),
// its config, and an OCI manifest, the way containers/image's storage transport does, so that
// push and save can read it. names are full references.
func (s *Store) NewImage(topLayer string, cfg image.Config, layerDigests []digest.Digest, layerSizes []int64, names []string) (*Image, error) {
	cfgBytes, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	cfgDigest := digest.FromBytes(cfgBytes)
	m := v1.Manifest{
		Versioned: specs.Versioned{SchemaVersion: 2},
		MediaType: v1.MediaTypeImageManifest,
		Config:    v1.Descriptor{MediaType: v1.MediaTypeImageConfig, Digest: cfgDigest, Size: int64(len(cfgBytes))},
	}
	for i, d := range layerDigests {
		m.Layers = append(m.Layers, v1.Descriptor{MediaType: v1.MediaTypeImageLayer, Digest: d, Size: layerSizes[i]})
	}
	mBytes, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	mDigest := digest.FromBytes(mBytes)
	id := cfgDigest.Encoded()
	created := time.Now().UTC()
	if cfg.Created != nil {
		created = *cfg.Created
	}
	// A name taken by another image moves to the new one, as with docker.
	for _, n := range names {
		if old, err := s.S.Image(n); err == nil && old.ID != id {
			if err := s.S.RemoveNames(old.ID, []string{n}); err != nil {
				return nil, err
			}
		}
	}
	img, err := s.S.CreateImage(id, names, topLayer, "", &storage.ImageOptions{
		CreationDate: created,
		Digest:       mDigest,
		BigData: []storage.ImageBigDataOption{
			{Key: catalog.ConfigKey(id), Data: cfgBytes, Digest: cfgDigest},
			{Key: storage.ImageDigestManifestBigDataNamePrefix + "-" + mDigest.String(), Data: mBytes, Digest: mDigest},
			{Key: storage.ImageDigestBigDataKey, Data: mBytes, Digest: mDigest},
		},
	})
	if errors.Is(err, storage.ErrDuplicateID) {
		if err := s.S.AddNames(id, names); err != nil {
			return nil, err
		}
		img, err = s.S.Image(id)
	}
	if err != nil {
		return nil, err
	}
	return s.LookupImage(img.ID)
}

// Tag adds name (a full reference) to the image.
func (s *Store) Tag(img *Image, name string) error {
	if old, err := s.S.Image(name); err == nil && old.ID != img.ID {
		if err := s.S.RemoveNames(old.ID, []string{name}); err != nil {
			return err
		}
	}
	return s.S.AddNames(img.ID, []string{name})
}

// RemoveImage untags ref when the image has other names (as docker does), otherwise deletes
// the image and its layers that no other image uses. users returns the containers using an
// image; without force they make it an error, with force remove removes each first. It returns
// "Untagged: x" / "Deleted: id" lines.
func (s *Store) RemoveImage(ref string, force bool, users func(imageID string) []string, remove func(id string) error) ([]string, error) {
	img, err := s.LookupImage(ref)
	if err != nil {
		return nil, err
	}
	var out []string
	// remove just the name when the user gave one of several names
	if len(img.Names) > 1 {
		if cands, err := image.Candidates(ref); err == nil {
			for _, c := range cands {
				if slices.Contains(img.Names, c) {
					if err := s.S.RemoveNames(img.ID, []string{c}); err != nil {
						return nil, err
					}
					return []string{"Untagged: " + c}, nil
				}
			}
		}
	}
	for _, id := range users(img.ID) {
		if !force {
			return nil, fmt.Errorf("image %s is used by container %.12s: remove the container first (skiff rm) or use rmi -f", ref, id)
		}
		if err := remove(id); err != nil {
			return nil, fmt.Errorf("remove container %.12s using the image: %w", id, err)
		}
	}
	for _, n := range img.Names {
		out = append(out, "Untagged: "+n)
	}
	if _, err := s.S.DeleteImage(img.ID, true); err != nil {
		return nil, err
	}
	return append(out, "Deleted: "+img.ID), nil
}

// LayerInfo is one layer of an image, bottom first.
type LayerInfo struct {
	ID     string
	DiffID digest.Digest
	Size   int64
}

// Layers returns an image's layers, bottom first.
func (s *Store) Layers(img *Image) ([]LayerInfo, error) {
	var out []LayerInfo
	for id := img.TopLayer; id != ""; {
		l, err := s.S.Layer(id)
		if err != nil {
			return nil, fmt.Errorf("image %.12s: layer %.12s: %w", img.ID, id, err)
		}
		out = append(out, LayerInfo{ID: l.ID, DiffID: l.UncompressedDigest, Size: l.UncompressedSize})
		id = l.Parent
	}
	slices.Reverse(out)
	return out, nil
}

// Prune removes dangling images (all unused ones with all) that match f and that no container
// uses (used holds the IDs of images in use); it returns their IDs.
func (s *Store) Prune(all bool, f *catalog.ImageFilter, used map[string]bool) ([]string, error) {
	imgs, err := s.Images()
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, img := range imgs {
		if used[img.ID] || (!all && len(img.Names) > 0) || !f.Match(img) {
			continue
		}
		if _, err := s.S.DeleteImage(img.ID, true); err != nil {
			return removed, fmt.Errorf("remove image %.12s: %w", img.ID, err)
		}
		removed = append(removed, img.ID)
	}
	return removed, nil
}
