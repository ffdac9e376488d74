package transfer

import (
	"errors"
	"fmt"

	"github.com/containers/image/v5/copy"
	"github.com/containers/image/v5/docker"
	"github.com/containers/image/v5/docker/reference"
	"github.com/containers/image/v5/pkg/sysregistriesv2"
	"github.com/containers/image/v5/types"
)

// PullCandidates are the full references to try for what the user typed: the name itself when
// it names a registry, else NAME in each of registries.conf's unqualified-search-registries, and
// docker.io (as docker.io/library/NAME for one component) when none are configured.
func PullCandidates(sys *types.SystemContext, name string) ([]reference.Named, error) {
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %v", name, err)
	}
	if qualified(name) {
		return []reference.Named{reference.TagNameOnly(named)}, nil
	}
	regs, err := sysregistriesv2.UnqualifiedSearchRegistries(sys)
	if err != nil {
		return nil, fmt.Errorf("registries.conf: %w", err)
	}
	if len(regs) == 0 {
		return []reference.Named{reference.TagNameOnly(named)}, nil
	}
	var out []reference.Named
	path := reference.Path(named)
	if tagged, ok := named.(reference.Tagged); ok {
		path += ":" + tagged.Tag()
	} else if d, ok := named.(reference.Digested); ok {
		path += "@" + d.Digest().String()
	}
	for _, r := range regs {
		p := path
		if r == "docker.io" {
			out = append(out, reference.TagNameOnly(named))
			continue
		}
		// on other registries a one-component name has no library/ prefix
		if rest, ok := cutLibrary(p); ok {
			p = rest
		}
		n, err := reference.ParseNormalizedNamed(r + "/" + p)
		if err == nil {
			out = append(out, reference.TagNameOnly(n))
		}
	}
	return out, nil
}

func cutLibrary(p string) (string, bool) {
	const lib = "library/"
	if len(p) > len(lib) && p[:len(lib)] == lib {
		return p[len(lib):], true
	}
	return p, false
}

func qualified(s string) bool {
	for i, c := range s {
		if c == '/' {
			d := s[:i]
			for _, x := range d {
				if x == '.' || x == ':' {
					return true
				}
			}
			return d == "localhost"
		}
	}
	return false
}

// Pull copies an image from a registry into the store and returns its ID and full name. A
// layer the store already has is not downloaded again; an interrupted pull leaves only what
// containers/storage can clean up (incomplete layers are removed at the next open).
func Pull(o Options, name string) (id, full string, err error) {
	sys, err := o.SystemContext()
	if err != nil {
		return "", "", err
	}
	pc, err := o.policyContext(sys)
	if err != nil {
		return "", "", err
	}
	defer pc.Destroy()
	cands, err := PullCandidates(sys, name)
	if err != nil {
		return "", "", err
	}
	var errs []error
	for _, named := range cands {
		src, err := docker.NewReference(named)
		if err != nil {
			return "", "", fmt.Errorf("invalid image reference %q: %v", name, err)
		}
		dst, err := o.storeRef(named)
		if err != nil {
			return "", "", err
		}
		co := o.copyOptions(sys)
		co.ImageListSelection = copy.CopySystemImage
		if _, err := copy.Image(background(), pc, dst, src, co); err != nil {
			errs = append(errs, Explain("pull "+named.String(), err))
			continue
		}
		id, err := o.storeImageID(dst)
		return id, named.String(), err
	}
	if len(errs) == 1 {
		return "", "", errs[0]
	}
	return "", "", errors.Join(errs...)
}

// PullAllTags pulls every tag of a repository; it returns the IDs pulled.
func PullAllTags(o Options, name string) ([]string, error) {
	sys, err := o.SystemContext()
	if err != nil {
		return nil, err
	}
	named, err := reference.ParseNormalizedNamed(name)
	if err != nil {
		return nil, fmt.Errorf("invalid image reference %q: %v", name, err)
	}
	if _, ok := named.(reference.Tagged); ok {
		return nil, fmt.Errorf("--all-tags takes a repository without a tag: %s", reference.TrimNamed(named))
	}
	repo, err := docker.NewReference(reference.TagNameOnly(named))
	if err != nil {
		return nil, err
	}
	tags, err := docker.GetRepositoryTags(background(), sys, repo)
	if err != nil {
		return nil, Explain("list tags of "+named.Name(), err)
	}
	var ids []string
	for _, t := range tags {
		id, _, err := Pull(o, named.Name()+":"+t)
		if err != nil {
			return ids, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}
