// Package catalog reads the images and layers of a containers/storage store straight from its
// files, without linking containers/storage: the hot commands (run, images, a no-op pull) need
// only to look up an image and its layers, and the storage library's size and package
// initialization would cost them more than the lookup itself.
//
// It reads; it never writes. containers/storage replaces its JSON files by renaming a complete
// new file into place, so a reader sees either the old or the new state, never a torn one.
// An image is recorded only after all its layers are complete and deleted before its layers,
// so every layer an image names exists (Layers still checks). Keeping a layer alive while a
// container uses it is skiff's business (see pkg/container): containers/storage is not told
// about skiff's containers.
package catalog

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/skiff-project/skiff/pkg/image"
)

// Image is an image in the store, with its OCI configuration.
type Image struct {
	ID       string
	Names    []string
	Digest   string
	Digests  []string
	Created  time.Time
	Size     int64
	TopLayer string
	Config   image.Config
}

// Layer is one layer of the store.
type Layer struct {
	ID         string         `json:"id"`
	Parent     string         `json:"parent,omitempty"`
	DiffDigest string         `json:"diff-digest,omitempty"`
	DiffSize   int64          `json:"diff-size,omitempty"`
	Flags      map[string]any `json:"flags,omitempty"`
}

// Catalog is one snapshot of a store's images and layers.
type Catalog struct {
	// Root is the store's graph root; Driver the storage driver whose data this is.
	Root, Driver string
	images       []entry
	layers       map[string]*Layer
}

// entry is one image record, as far as skiff needs it.
type entry struct {
	ID, Digest, TopLayer string
	Names                []string
	Digests              []string // of all the image's manifests
	Created              time.Time
	DataSize             int64 // of its big-data items (config, manifests)
	// ConfigCreated is the creation time its config states (zero when it states none),
	// kept in the index so that listing images need not read every config
	ConfigCreated time.Time
}

type rawImage struct {
	ID             string            `json:"id"`
	Digest         string            `json:"digest,omitempty"`
	Names          []string          `json:"names,omitempty"`
	TopLayer       string            `json:"layer,omitempty"`
	Created        time.Time         `json:"created,omitempty"`
	BigDataSizes   map[string]int64  `json:"big-data-sizes,omitempty"`
	BigDataDigests map[string]string `json:"big-data-digests,omitempty"`
}

// Drivers are the storage drivers whose stores the catalog reads, in the order a store with
// data of several is read (the order pkg/store picks them in).
var Drivers = []string{"overlay", "vfs"}

// DetectDriver returns the driver of the store at root: the one asked for, else the first
// whose layer records exist; "" for a store that holds no data yet.
func DetectDriver(root, asked string) string {
	if asked != "" {
		return asked
	}
	for _, d := range Drivers {
		if _, err := os.Stat(filepath.Join(root, d+"-layers")); err == nil {
			return d
		}
	}
	return ""
}

// Open reads the catalog of the store at root for driver ("" detects it). A store that does
// not exist yet is an empty catalog.
func Open(root, driver string) (*Catalog, error) {
	c := &Catalog{Root: root, Driver: DetectDriver(root, driver), layers: map[string]*Layer{}}
	if c.Driver == "" {
		return c, nil
	}
	imagesPath := filepath.Join(root, c.Driver+"-images", "images.json")
	layersPath := filepath.Join(root, c.Driver+"-layers", "layers.json")
	stamp := fileStamp(imagesPath) + " " + fileStamp(layersPath)
	if c.readIndex(stamp) {
		return c, nil
	}
	var raw []rawImage
	if err := readJSON(imagesPath, &raw); err != nil {
		return nil, err
	}
	for i := range raw {
		e := raw[i].entry()
		var cfg struct {
			Created *time.Time `json:"created"`
		}
		if b, err := os.ReadFile(c.bigDataPath(e.ID, ConfigKey(e.ID))); err == nil && json.Unmarshal(b, &cfg) == nil && cfg.Created != nil {
			e.ConfigCreated = *cfg.Created
		}
		c.images = append(c.images, e)
	}
	var layers []*Layer
	if err := readJSON(layersPath, &layers); err != nil {
		return nil, err
	}
	for _, l := range layers {
		c.layers[l.ID] = l
	}
	c.writeIndex(stamp)
	return c, nil
}

// entry keeps what skiff uses of a record: the digests of all its manifests, as
// containers/storage computes them, and the size of its big-data items.
func (r *rawImage) entry() entry {
	e := entry{ID: r.ID, Digest: r.Digest, Names: r.Names, TopLayer: r.TopLayer, Created: r.Created}
	for _, s := range r.BigDataSizes {
		e.DataSize += s
	}
	if r.Digest != "" {
		e.Digests = append(e.Digests, r.Digest)
	}
	keys := make([]string, 0, len(r.BigDataDigests))
	for k := range r.BigDataDigests {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if d := r.BigDataDigests[k]; strings.HasPrefix(k, "manifest") && !slices.Contains(e.Digests, d) {
			e.Digests = append(e.Digests, d)
		}
	}
	if e.Digest == "" && len(e.Digests) > 0 {
		e.Digest = e.Digests[0]
	}
	return e
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the image store: %w", err)
	}
	if len(b) == 0 {
		return nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("the image store's %s is damaged: %w (move the store away and pull again)", path, err)
	}
	return nil
}

// Images lists the images, newest first, with their configurations and sizes.
func (c *Catalog) Images() []*Image { return c.list(true) }

// Summaries lists the images, newest first, without their configurations (Config is empty):
// what `images` shows unless it filters by label.
func (c *Catalog) Summaries() []*Image { return c.list(false) }

func (c *Catalog) list(withConfig bool) []*Image {
	out := make([]*Image, 0, len(c.images))
	for i := range c.images {
		img, err := c.image(&c.images[i], withConfig)
		if err != nil {
			img, _ = c.image(&c.images[i], false)
		}
		out = append(out, img)
	}
	slices.SortStableFunc(out, func(a, b *Image) int { return b.Created.Compare(a.Created) })
	return out
}

// image turns a record into an Image, reading its config when withConfig.
func (c *Catalog) image(r *entry, withConfig bool) (*Image, error) {
	img := &Image{ID: r.ID, Names: r.Names, Digest: r.Digest, Digests: r.Digests, Created: r.Created, TopLayer: r.TopLayer, Size: r.DataSize}
	if !r.ConfigCreated.IsZero() {
		img.Created = r.ConfigCreated // what the config states, as below, known without reading it
	}
	for id := r.TopLayer; id != ""; {
		l, ok := c.layers[id]
		if !ok {
			break
		}
		img.Size += l.DiffSize
		id = l.Parent
	}
	if withConfig {
		b, err := os.ReadFile(c.bigDataPath(r.ID, ConfigKey(r.ID)))
		if err != nil {
			return img, fmt.Errorf("image %s has no config: %w (remove it with skiff rmi -f %.12s)", r.ID, err, r.ID)
		}
		if err := json.Unmarshal(b, &img.Config); err != nil {
			return img, fmt.Errorf("image %s has a malformed config: %w (remove it with skiff rmi -f %.12s)", r.ID, err, r.ID)
		}
		if img.Config.Created != nil {
			img.Created = *img.Config.Created
		}
	}
	return img, nil
}

// ConfigKey is where an image's config blob is kept, as containers/image's storage transport
// keeps it: under the config's digest, which is the image ID.
func ConfigKey(id string) string { return "sha256:" + id }

// bigDataPath is the file containers/storage keeps an image's big-data item key in.
func (c *Catalog) bigDataPath(id, key string) string {
	name := key
	for _, ch := range key {
		if ch != '.' && (ch < '0' || ch > '9') && (ch < 'a' || ch > 'z') {
			name = "=" + base64.StdEncoding.EncodeToString([]byte(key))
			break
		}
	}
	return filepath.Join(c.Root, c.Driver+"-images", id, name)
}

// Lookup finds an image by name (short names tried as localhost/NAME, then docker.io's
// spelling), full ID or unique ID prefix, with its configuration.
func (c *Catalog) Lookup(name string) (*Image, error) {
	r, err := c.find(name)
	if err != nil {
		return nil, err
	}
	return c.image(r, true)
}

// Has reports whether name finds an image, without reading its configuration.
func (c *Catalog) Has(name string) bool {
	_, err := c.find(name)
	return err == nil
}

func (c *Catalog) find(name string) (*entry, error) {
	cands, err := image.Candidates(name)
	if err != nil && !image.LooksLikeID(name) {
		return nil, err
	}
	for _, cand := range cands {
		for i := range c.images {
			if slices.Contains(c.images[i].Names, cand) {
				return &c.images[i], nil
			}
		}
	}
	if image.LooksLikeID(name) {
		prefix := strings.TrimPrefix(name, "sha256:")
		var found *entry
		for i := range c.images {
			if strings.HasPrefix(c.images[i].ID, prefix) {
				if found != nil {
					return nil, fmt.Errorf("%q matches more than one image ID: give more characters", name)
				}
				found = &c.images[i]
			}
		}
		if found != nil {
			return found, nil
		}
	}
	return nil, &NotFoundError{Kind: "image", Name: name, Hint: "import it with `skiff import ROOTFS.tar " + name + "`, pull it, or see `skiff images`"}
}

// Layers returns the image's layers, top first, and fails when one is missing or incomplete.
func (c *Catalog) Layers(img *Image) ([]*Layer, error) {
	var out []*Layer
	for id := img.TopLayer; id != ""; {
		l, ok := c.layers[id]
		if !ok {
			return nil, fmt.Errorf("image %.12s: layer %.12s is missing from the store (remove the image with skiff rmi -f %.12s and pull it again)", img.ID, id, img.ID)
		}
		if b, _ := l.Flags["incomplete"].(bool); b {
			return nil, fmt.Errorf("image %.12s: layer %.12s is incomplete (an interrupted pull): pull the image again", img.ID, id)
		}
		out = append(out, l)
		id = l.Parent
		if len(out) > 1000 {
			return nil, fmt.Errorf("image %.12s: its layers form a loop: the store is damaged", img.ID)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("image %.12s has no layers", img.ID)
	}
	return out, nil
}

// LayerDir is the directory holding a layer's files: for overlay its diff (the layer's own
// changes), for vfs the complete file system up to that layer.
func (c *Catalog) LayerDir(id string) string {
	if c.Driver == "vfs" {
		return filepath.Join(c.Root, "vfs", "dir", id)
	}
	return filepath.Join(c.Root, c.Driver, id, "diff")
}

// LayerDirs are the directories of layers, in their order.
func (c *Catalog) LayerDirs(layers []*Layer) []string {
	dirs := make([]string, len(layers))
	for i, l := range layers {
		dirs[i] = c.LayerDir(l.ID)
	}
	return dirs
}

// LayerLink is the short name of an overlay layer's diff (DRIVER/l/NAME links to it), which
// keeps a long lowerdir list under the kernel's one-page limit for mount options.
func (c *Catalog) LayerLink(id string) (string, error) {
	b, err := os.ReadFile(filepath.Join(c.Root, c.Driver, id, "link"))
	if err != nil {
		return "", err
	}
	return filepath.Join("l", strings.TrimSpace(string(b))), nil
}

// ErrNotFound is returned when an image or container is not in the store.
var ErrNotFound = errors.New("not found")

// NotFoundError names what was not found and how to fix it.
type NotFoundError struct {
	Kind, Name, Hint string
}

func (e *NotFoundError) Error() string {
	s := fmt.Sprintf("%s %q not found", e.Kind, e.Name)
	if e.Hint != "" {
		s += ": " + e.Hint
	}
	return s
}

func (e *NotFoundError) Unwrap() error { return ErrNotFound }
