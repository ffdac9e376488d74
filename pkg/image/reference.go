// Package image holds image references and image configuration: how a name a user types becomes
// the names an image is stored under, and how `--change` lines edit an image's config.
package image

import (
	"errors"
	"fmt"
	"strings"
)

// LocalDomain is where images named without a registry live, as in podman ("localhost/NAME").
const LocalDomain = "localhost"

// DefaultDomain is docker's registry, implied by names without one.
const DefaultDomain = "docker.io"

// The grammar of docker references (distribution's reference package), checked by hand rather
// than with its regular expressions: compiling those costs milliseconds, more than all the rest
// of a `skiff run`'s own work. reference_diff_test.go checks these against containers/image.

func isAlnum(c byte) bool      { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
func isAlnumMixed(c byte) bool { return isAlnum(c) || c >= 'A' && c <= 'Z' }

// validDomain: component(.component)*(:port)?, a component being letters and digits with
// inner hyphens.
func validDomain(s string) bool {
	host, port, hasPort := strings.Cut(s, ":")
	if hasPort {
		if port == "" {
			return false
		}
		for i := 0; i < len(port); i++ {
			if port[i] < '0' || port[i] > '9' {
				return false
			}
		}
	}
	for _, c := range strings.Split(host, ".") {
		if c == "" || c[0] == '-' || c[len(c)-1] == '-' {
			return false
		}
		for i := 0; i < len(c); i++ {
			if !isAlnumMixed(c[i]) && c[i] != '-' {
				return false
			}
		}
	}
	return true
}

// validPath: components separated by '/', each alnum runs joined by one '.', one or two '_',
// or any number of '-'.
func validPath(s string) bool {
	for _, c := range strings.Split(s, "/") {
		if c == "" || !isAlnum(c[0]) || !isAlnum(c[len(c)-1]) {
			return false
		}
		for i := 0; i < len(c); {
			if isAlnum(c[i]) {
				i++
				continue
			}
			j := i
			for j < len(c) && !isAlnum(c[j]) {
				j++
			}
			switch sep := c[i:j]; {
			case sep == "." || sep == "_" || sep == "__":
			case strings.Trim(sep, "-") == "":
			default:
				return false
			}
			i = j
		}
	}
	return true
}

// validTag: [\w][\w.-]{0,127}
func validTag(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		word := isAlnumMixed(c) || c == '_'
		if !word && (i == 0 || c != '.' && c != '-') {
			return false
		}
	}
	return true
}

// Named is a parsed, normalized reference: DOMAIN/PATH[:TAG][@DIGEST].
type Named struct {
	Domain string
	Path   string
	Tag    string
	Digest string // ALGORITHM:HEX
}

// Name is DOMAIN/PATH.
func (n Named) Name() string { return n.Domain + "/" + n.Path }

// String is the full reference.
func (n Named) String() string {
	s := n.Name()
	if n.Tag != "" {
		s += ":" + n.Tag
	}
	if n.Digest != "" {
		s += "@" + n.Digest
	}
	return s
}

// Reference is a parsed image reference.
type Reference struct {
	// Named is the normalized reference, tagged "latest" when it had neither tag nor digest.
	Named Named
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

// parse splits and checks s against docker's grammar and normalizes its domain.
func parse(s string, defaultDomain string) (Named, bool, error) {
	var n Named
	if s == "" {
		return n, false, errors.New("empty")
	}
	rest := s
	if i := strings.IndexByte(rest, '@'); i >= 0 {
		d := rest[i+1:]
		if err := ValidDigest(d); err != nil {
			return n, false, fmt.Errorf("invalid digest: %v", err)
		}
		n.Digest, rest = d, rest[:i]
	}
	if i := strings.LastIndexByte(rest, ':'); i >= 0 && !strings.Contains(rest[i:], "/") {
		n.Tag, rest = rest[i+1:], rest[:i]
		if !validTag(n.Tag) {
			return n, false, fmt.Errorf("invalid tag %q", n.Tag)
		}
	}
	qualified := false
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		first := rest[:i]
		if strings.ContainsAny(first, ".:") || first == LocalDomain || first != strings.ToLower(first) {
			qualified = true
			n.Domain, rest = first, rest[i+1:]
		}
	}
	if !qualified {
		n.Domain = defaultDomain
	}
	if n.Domain == "index.docker.io" {
		n.Domain = DefaultDomain
	}
	if rest != strings.ToLower(rest) {
		return n, false, errors.New("repository name must be lowercase")
	}
	// docker matches the whole name (an optional domain, then path components), so a first
	// component such as "a.b_c" is valid as a path component even where it is not a host name
	domainOK := validDomain(n.Domain) || qualified && validPath(n.Domain)
	if !domainOK || !validPath(rest) {
		return n, false, errors.New("invalid reference format")
	}
	if n.Domain == DefaultDomain && !strings.Contains(rest, "/") {
		rest = "library/" + rest
	}
	n.Path = rest
	if len(n.Name()) > 255 {
		return n, false, errors.New("repository name is longer than 255 characters")
	}
	return n, qualified, nil
}

// Parse parses s, defaulting the tag to "latest". Names without a registry are qualified with
// LocalDomain when local is true, else with docker.io (docker.io/library for one component).
func Parse(s string, local bool) (Reference, error) {
	s = strings.TrimPrefix(s, "docker://")
	domain := DefaultDomain
	if local {
		domain = LocalDomain
	}
	n, qualified, err := parse(s, domain)
	if err != nil {
		return Reference{}, &ErrBadReference{s, err}
	}
	if n.Tag == "" && n.Digest == "" {
		n.Tag = "latest"
	}
	return Reference{Named: n, Qualified: qualified}, nil
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
func LooksLikeID(s string) bool {
	s = strings.TrimPrefix(s, "sha256:")
	if len(s) < 3 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !(s[i] >= '0' && s[i] <= '9' || s[i] >= 'a' && s[i] <= 'f') {
			return false
		}
	}
	return true
}

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

// ValidDigest checks ALGORITHM:HEX as go-digest does for the algorithms it knows: sha256,
// sha384 and sha512, with the matching number of lower-case hex digits.
func ValidDigest(d string) error {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok || alg == "" || hex == "" {
		return errors.New("invalid checksum digest format")
	}
	size := map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}[alg]
	if size == 0 {
		for i := 0; i < len(alg); i++ {
			c := alg[i]
			if !(isAlnum(c) || c == '+' || c == '.' || c == '_' || c == '-') {
				return errors.New("invalid checksum digest format")
			}
		}
		return errors.New("unsupported digest algorithm")
	}
	for i := 0; i < len(hex); i++ {
		if !(hex[i] >= '0' && hex[i] <= '9' || hex[i] >= 'a' && hex[i] <= 'f') {
			return errors.New("invalid checksum digest format")
		}
	}
	if len(hex) != size {
		return errors.New("invalid checksum digest length")
	}
	return nil
}
