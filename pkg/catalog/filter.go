package catalog

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/skiff-project/skiff/pkg/image"
)

// ImageFilter is a parsed set of `images --filter` conditions; all must hold.
type ImageFilter struct {
	dangling   *bool
	references []string
	labels     [][2]string
	before     *time.Time
	since      *time.Time
	prune      *PruneFilter // a prune's until and labels
}

// ParseImageFilters parses docker's image filters; lookup finds the images that before= and
// since= name.
func ParseImageFilters(fs []string, lookup func(string) (*Image, error)) (*ImageFilter, error) {
	f := &ImageFilter{}
	for _, x := range fs {
		k, v, ok := strings.Cut(x, "=")
		if !ok {
			return nil, fmt.Errorf("invalid --filter %q: use KEY=VALUE", x)
		}
		switch k {
		case "dangling":
			b := v == "true" || v == "1"
			if !b && v != "false" && v != "0" {
				return nil, fmt.Errorf("invalid --filter %q: dangling takes true or false", x)
			}
			f.dangling = &b
		case "reference":
			f.references = append(f.references, v)
		case "label":
			lk, lv, _ := strings.Cut(v, "=")
			f.labels = append(f.labels, [2]string{lk, lv})
		case "before", "since":
			img, err := lookup(v)
			if err != nil {
				return nil, fmt.Errorf("--filter %s: %w", x, err)
			}
			t := img.Created
			if k == "before" {
				f.before = &t
			} else {
				f.since = &t
			}
		case "until", "label!":
			if f.prune == nil {
				f.prune = &PruneFilter{}
			}
			if err := f.prune.add(x, time.Now()); err != nil {
				return nil, err
			}
		default:
			return nil, fmt.Errorf("invalid --filter %q: supported are dangling, reference, label, label!, before, since, until", x)
		}
	}
	return f, nil
}

// UsesLabels reports whether the filter looks at labels, which are in the images' configs.
func (f *ImageFilter) UsesLabels() bool {
	return f != nil && (len(f.labels) > 0 || f.prune != nil && len(f.prune.labels)+len(f.prune.notLabels) > 0)
}

// Match reports whether img passes the filter.
func (f *ImageFilter) Match(img *Image) bool {
	if f == nil {
		return true
	}
	if f.dangling != nil && (len(img.Names) == 0) != *f.dangling {
		return false
	}
	if len(f.references) > 0 {
		ok := false
		for _, pat := range f.references {
			for _, n := range img.Names {
				if refMatch(pat, n) {
					ok = true
				}
			}
		}
		if !ok {
			return false
		}
	}
	for _, l := range f.labels {
		v, ok := img.Config.Config.Labels[l[0]]
		if !ok || (l[1] != "" && v != l[1]) {
			return false
		}
	}
	if f.before != nil && !img.Created.Before(*f.before) {
		return false
	}
	if f.since != nil && !img.Created.After(*f.since) {
		return false
	}
	return f.prune.Match(img.Created, img.Config.Config.Labels)
}

// refMatch matches a docker reference pattern against a stored name, with and without its
// implied parts (localhost/, docker.io/library/, :latest).
func refMatch(pat, name string) bool {
	repo, tag := image.Split(name)
	short := strings.TrimPrefix(strings.TrimPrefix(repo, "docker.io/library/"), image.LocalDomain+"/")
	short = strings.TrimPrefix(short, "docker.io/")
	for _, cand := range []string{name, repo, short, short + ":" + tag} {
		if ok, _ := path.Match(pat, cand); ok {
			return true
		}
	}
	return false
}

// Apply keeps the images that match.
func (f *ImageFilter) Apply(imgs []*Image) []*Image {
	var out []*Image
	for _, img := range imgs {
		if f.Match(img) {
			out = append(out, img)
		}
	}
	return out
}
