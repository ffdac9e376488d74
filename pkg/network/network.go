// Package network gives a container its network: none, the host's, another container's, or a
// user-mode one, where a helper from Debian's passt package (passt, the program pasta is a
// mode of) turns the container's Ethernet frames into the host's sockets, so no root and no
// bridge on the host are needed. Ports are published by the same helper. Where passt is
// missing, or asked for, slirp4netns does that job instead (slirp.go), its ports published by
// rootlesskit's builtin port driver (portfwd.go) or by slirp4netns itself.
//
// The order at `skiff run`: ParseMode and ParsePublish check the flags; Prepare finds the
// helper and the host's route and checks the host ports; Start launches the helper while the
// container's namespaces are made; Attach creates the container's eth0 in its network
// namespace (a tap device, configured like pasta's --config-net: the host's address and
// gateway) and hands the tap and the helper's socket to skiff-init, which relays frames
// between them for the container's life. The helper exits when skiff-init's end of the
// socket closes, that is when the container ends, however it ends.
package network

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

// Kind is what a container's network is.
type Kind string

const (
	None      Kind = "none"        // a namespace of its own with loopback only
	Host      Kind = "host"        // the host's (the caller's) network namespace
	Pasta     Kind = "pasta"       // its own namespace, reaching out through passt
	Slirp     Kind = "slirp4netns" // its own namespace, through slirp4netns
	Container Kind = "container"   // another container's namespace
	User      Kind = "user"        // pasta, plus a network made with `skiff network create`
)

// Mode is a parsed --network value.
type Mode struct {
	Kind Kind
	// Target is the container of Container and the network of User.
	Target string
	// Options are what follows "pasta:" or "slirp4netns:".
	Options []string
	// Default says no mode was asked for: pasta, or slirp4netns when passt is missing.
	Default bool
}

func (m Mode) String() string {
	switch m.Kind {
	case Container:
		return "container:" + m.Target
	case User:
		return m.Target
	}
	return string(m.Kind)
}

// OwnNamespace says whether the container gets a network namespace made for it.
func (m Mode) OwnNamespace() bool { return m.Kind != Host && m.Kind != Container }

// UsesHelper says whether the container reaches out through a user-mode helper.
func (m Mode) UsesHelper() bool { return m.Kind == Pasta || m.Kind == User || m.Kind == Slirp }

// ParseMode reads --network: "" (the default), default, bridge, pasta[:OPTIONS], slirp4netns,
// none, host, container:NAME|ID, or the name of a network made with `skiff network create`.
// The default, as docker's bridge, is pasta; bridge means the same. Without passt, Resolve
// turns the default into slirp4netns.
func ParseMode(s string) (Mode, error) {
	kind, opts, _ := strings.Cut(s, ":")
	switch kind {
	case "", "default", "bridge", "private":
		if opts != "" {
			return Mode{}, fmt.Errorf("invalid --network %q: %s takes no options", s, kind)
		}
		return Mode{Kind: Pasta, Default: true}, nil
	case "pasta":
		m := Mode{Kind: Pasta}
		if opts != "" {
			m.Options = strings.Split(opts, ",")
		}
		return m, nil
	case "slirp4netns":
		m := Mode{Kind: Slirp}
		if opts != "" {
			m.Options = strings.Split(opts, ",")
		}
		if _, err := ParseSlirpOptions(m.Options); err != nil {
			return Mode{}, err
		}
		return m, nil
	case "none", "host":
		if opts != "" {
			return Mode{}, fmt.Errorf("invalid --network %q: %s takes no options", s, kind)
		}
		return Mode{Kind: Kind(kind)}, nil
	case "container":
		if opts == "" {
			return Mode{}, fmt.Errorf("invalid --network %q: use container:NAME or container:ID", s)
		}
		return Mode{Kind: Container, Target: opts}, nil
	case "ns", "slirp":
		return Mode{}, fmt.Errorf("unsupported --network %q: use pasta, none, host, container:NAME or a network's name", s)
	}
	if err := ValidName(s); err != nil {
		return Mode{}, fmt.Errorf("invalid --network %q: use pasta, none, host, container:NAME or a network's name", s)
	}
	return Mode{Kind: User, Target: s}, nil
}

// HelperPath finds passt; its error names the package to install.
func HelperPath() (string, error) {
	p, err := exec.LookPath("passt")
	if err != nil {
		return "", errors.New("user-mode networking needs passt, which is not installed: install it (apt-get install passt), or use --network none or host")
	}
	return p, nil
}

// Resolve settles the default mode on this host: pasta when passt is installed, else
// slirp4netns when that is, else the error that names both.
func (m Mode) Resolve() (Mode, error) {
	if !m.Default {
		return m, nil
	}
	if _, err := HelperPath(); err == nil {
		return m, nil
	}
	if _, err := SlirpPath(); err == nil {
		return Mode{Kind: Slirp, Default: true}, nil
	}
	return Mode{}, errors.New("user-mode networking needs passt or slirp4netns, and neither is installed: install passt (apt-get install passt), or use --network none or host")
}

// ValidName checks a network's name: letters, digits, '_', '.', '-', starting with a letter or
// digit, at most 64 characters (docker's rule for names).
func ValidName(name string) error {
	ok := name != "" && len(name) <= 64
	for i, c := range name {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || c != '_' && c != '.' && c != '-') {
			ok = false
		}
	}
	if !ok {
		return fmt.Errorf("invalid network name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit, at most 64", name)
	}
	return nil
}
