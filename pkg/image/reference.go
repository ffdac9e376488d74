// Package image holds image references and image configuration: how a name a user types becomes
// the names an image is stored under, and how `--change` lines edit an image's config.
package image

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/containers/image/v5/docker/reference"
)

// LocalDomain is where images named without a registry live, as in podman ("localhost/NAME").
const LocalDomain = "localhost"

var idPrefix = regexp.MustCompile(`^(sha256:)?[0-9a-f]{3,64}$`)

// Reference is a parsed image reference.
type Reference struct {
	// Named is the normalized, tagged (or digested) reference.
	Named reference.Named
	// Qualified tells whether the user named a registry.
	Qualified bool
}

// ErrBadReference wraps malformed references.
type ErrBadReference struct {
	Input string
	Err   error
}

func (e *ErrBadReference) Error() string {
	return fmt.Sprintf("invalid image reference %q: %v (use NAME[:TAG], e.g. busybox:latest or localhost/app:1.0, names in lower case)", e.Input, e.Err)
}

// Parse parses s, defaulting the tag to "latest". Names without a registry are qualified with
// LocalDomain when local is true, else with docker.io (docker.io/library for one component).
func Parse(s string, local bool) (Reference, error) {
	if s == "" {
		return Reference{}, &ErrBadReference{s, fmt.Errorf("empty")}
	}
	s = strings.TrimPrefix(s, "docker://")
	qualified := hasDomain(s)
	in := s
	if !qualified && local {
		in = LocalDomain + "/" + s
	}
	n, err := reference.ParseNormalizedNamed(in)
	if err != nil {
		return Reference{}, &ErrBadReference{s, err}
	}
	n = reference.TagNameOnly(n)
	return Reference{Named: n, Qualified: qualified}, nil
}

// hasDomain reports whether the first component of s names a registry (docker's rule).
func hasDomain(s string) bool {
	i := strings.IndexRune(s, '/')
	if i < 0 {
		return false
	}
	d := s[:i]
	return strings.ContainsAny(d, ".:") || d == "localhost"
}

// Candidates returns the full names to try, in order, when looking up s in the store:
// the name itself when qualified, else localhost/NAME then docker.io's spelling.
func Candidates(s string) ([]string, error) {
	r, err := Parse(s, false)
	if err != nil {
		return nil, err
	}
	if r.Qualified {
		return []string{r.Named.String()}, nil
	}
	l, err := Parse(s, true)
	if err != nil {
		return nil, err
	}
	return []string{l.Named.String(), r.Named.String()}, nil
}

// LooksLikeID reports whether s could be an image or container ID (or a prefix of one).
func LooksLikeID(s string) bool { return idPrefix.MatchString(s) }

// Split returns repository and tag (or digest) of a stored name for display.
func Split(name string) (repo, tag string) {
	if i := strings.LastIndex(name, "@"); i >= 0 {
		return name[:i], name[i+1:]
	}
	if i := strings.LastIndex(name, ":"); i > strings.LastIndex(name, "/") {
		return name[:i], name[i+1:]
	}
	return name, "<none>"
}
