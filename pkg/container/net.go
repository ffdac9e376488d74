package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/skiff-project/skiff/pkg/config"
	"github.com/skiff-project/skiff/pkg/network"
	"github.com/skiff-project/skiff/pkg/userns"
)

// NetOptions are run's network flags besides --network (which is Spec.Network).
type NetOptions struct {
	Publish    []string `json:"publish,omitempty"`    // -p [IP:][HOSTPORT:]CTRPORT[/PROTO]
	PublishAll bool     `json:"publishAll,omitempty"` // -P: the image's EXPOSEd ports on free host ports
	DNS        []string `json:"dns,omitempty"`
	DNSSearch  []string `json:"dnsSearch,omitempty"`
	DNSOptions []string `json:"dnsOptions,omitempty"`
	Aliases    []string `json:"aliases,omitempty"` // --network-alias
	Expose     []string `json:"expose,omitempty"`  // --expose PORT[/PROTO] or FIRST-LAST[/PROTO], beside the image's EXPOSE for -P
}

// NetState is what a container's network came to (net.json in its directory): the mode, its
// address, and the host ports it publishes, free ones chosen. `skiff port` and inspect read it.
type NetState struct {
	Mode    string         `json:"mode"`
	Address string         `json:"address,omitempty"` // CIDR
	Gateway string         `json:"gateway,omitempty"`
	Ports   []network.Port `json:"ports,omitempty"`
	// Network is the user network it is on, with its address there and its aliases.
	Network        string   `json:"network,omitempty"`
	NetworkAddress string   `json:"networkAddress,omitempty"`
	Aliases        []string `json:"aliases,omitempty"`
}

const netFile = "net.json"

// ReadNetState returns what net.json of a container says (a zero NetState when it has none).
func ReadNetState(dir string) NetState {
	var s NetState
	if b, err := os.ReadFile(filepath.Join(dir, netFile)); err == nil {
		_ = json.Unmarshal(b, &s)
	}
	return s
}

// netSetup is a container's network while run makes it.
type netSetup struct {
	mode   network.Mode
	route  network.Route
	ports  []network.Port
	netns  string // container:NAME: the namespace skiff-init enters
	helper *network.Helper
	slirp  *network.SlirpHelper // --network slirp4netns
	files  []*os.File           // the helper's socket (and a user network's locks), for skiff-init
	nets   *network.Store
	user   network.Network     // --network NAME
	member *network.Membership // its place there
}

// checkNet reads the network flags: the mode and the published ports, and whether they go
// together.
func checkNet(o *RunOptions) (network.Mode, []network.Port, error) {
	mode, err := network.ParseMode(o.Spec.Network)
	if err != nil {
		return mode, nil, err
	}
	var ports []network.Port
	for _, p := range o.Net.Publish {
		ps, err := network.ParsePublish(p)
		if err != nil {
			return mode, nil, err
		}
		ports = append(ports, ps...)
	}
	if (len(ports) > 0 || o.Net.PublishAll) && !mode.UsesHelper() {
		return mode, nil, fmt.Errorf("-p/-P need the container's own network: --network %s has none to publish (use the default, pasta, or slirp4netns)", mode)
	}
	if (len(o.Net.DNS) > 0 || len(o.Net.DNSSearch) > 0 || len(o.Net.DNSOptions) > 0) && !mode.OwnNamespace() {
		return mode, nil, fmt.Errorf("--dns, --dns-search and --dns-option do not go with --network %s: the container uses that network's", mode)
	}
	if len(o.Net.Aliases) > 0 && mode.Kind != network.User {
		return mode, nil, errors.New("--network-alias needs a network made with `skiff network create`")
	}
	return mode, ports, nil
}

// prepareNet checks the network flags before anything starts: the mode, the ports, the helper.
func prepareNet(recs *Records, paths config.Paths, o *RunOptions) (*netSetup, error) {
	mode, ports, err := checkNet(o)
	if err != nil {
		return nil, err
	}
	if mode, err = mode.Resolve(); err != nil {
		return nil, err
	}
	n := &netSetup{mode: mode, ports: ports}
	switch mode.Kind {
	case network.Slirp:
		opts, err := network.ParseSlirpOptions(mode.Options)
		if err != nil {
			return nil, err
		}
		if _, err := network.SlirpPath(); err != nil {
			return nil, err
		}
		if err := network.CheckTun(); err != nil {
			return nil, err
		}
		if n.route, err = network.HostRoute(); err != nil {
			return nil, err
		}
		if n.slirp, err = network.NewSlirp(opts); err != nil {
			return nil, err
		}
		n.files = []*os.File{n.slirp.HoldFile()}
	case network.Container:
		in, err := recs.Lookup(mode.Target)
		if err != nil {
			return nil, fmt.Errorf("--network %s: %w", mode, err)
		}
		if !in.Running || in.State.Pid <= 0 {
			return nil, fmt.Errorf("--network %s: container %s is not running: start it first", mode, mode.Target)
		}
		n.netns = fmt.Sprintf("/proc/%d/ns/net", in.State.Pid)
		if _, err := os.Stat(n.netns); err != nil {
			return nil, fmt.Errorf("--network %s: container %s is not running: start it first", mode, mode.Target)
		}
	case network.User:
		n.nets = network.Open(paths.GraphRoot, userns.Current().RunDir)
		if n.user, err = n.nets.Get(mode.Target); err != nil {
			return nil, err
		}
		fallthrough // and pasta for the way out
	case network.Pasta:
		if _, err := network.HelperPath(); err != nil {
			return nil, err
		}
		if n.route, err = network.HostRoute(); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// start chooses and checks the host ports (with the image's exposed ones for -P) and
// launches the helper, which starts while the container's root is made.
func (n *netSetup) start(o *RunOptions, id, name string, exposed map[string]struct{}) error {
	if len(o.Net.Expose) > 0 {
		// --expose adds to the image's EXPOSE (docker's 80 is 80/tcp)
		exposed = maps.Clone(exposed)
		if exposed == nil {
			exposed = map[string]struct{}{}
		}
		for _, e := range o.Net.Expose {
			ports, err := exposeKeys(e)
			if err != nil {
				return err
			}
			for _, k := range ports {
				exposed[k] = struct{}{}
			}
		}
	}
	if !n.mode.UsesHelper() {
		return nil
	}
	if o.Net.PublishAll {
		ps, err := network.ExposedPorts(exposed)
		if err != nil {
			return err
		}
		n.ports = append(n.ports, ps...)
	}
	if err := network.CheckPorts(n.ports, userns.Current().Rootless); err != nil {
		return err
	}
	if n.slirp != nil {
		return nil // it starts once the container's network namespace is there (started)
	}
	waiter, err := InitPath()
	if err != nil {
		return err
	}
	h, err := network.Start(waiter, n.route, n.ports)
	if err != nil {
		return err
	}
	n.helper = h
	n.files = []*os.File{h.Sock}
	if n.nets != nil {
		if n.member, err = n.nets.Join(n.user, waiter, id, name, o.Net.Aliases); err != nil {
			return err
		}
		n.files = append(n.files, n.member.Files...)
	}
	return nil
}

// needsPid says started needs skiff-init's pid.
func (n *netSetup) needsPid() bool { return n.member != nil || n.slirp != nil }

// started tells a user network's members about the new one, whose skiff-init is pid, or
// starts slirp4netns (and the port forwarder) in its network namespace and waits until the
// network is configured and the ports bound: the command starts after.
func (n *netSetup) started(pid int) error {
	if n.slirp != nil {
		ns, err := os.Open(fmt.Sprintf("/proc/%d/ns/net", pid))
		if err != nil {
			return fmt.Errorf("the container's network namespace: %w", err)
		}
		defer ns.Close()
		self, err := os.Executable()
		if err != nil {
			return err
		}
		return n.slirp.Start(ns, userns.Current().RunDir, self, n.ports)
	}
	if n.member == nil {
		return nil
	}
	return n.member.Started(pid)
}

// joinPlan is the plan's place on a user network, or nil.
func (n *netSetup) joinPlan() *joinPlan {
	if n.member == nil {
		return nil
	}
	return &joinPlan{Hub: n.member.Hub, Bridge: n.user.Bridge(), Peer: n.member.Peer,
		Addr: n.member.Addr.Addr().String(), Prefix: n.member.Addr.Bits(), Gateway: n.user.Gateway}
}

// ready waits, when ports are published, until the helper listens on them.
func (n *netSetup) ready() error {
	if n.helper == nil || len(n.ports) == 0 {
		return nil
	}
	return n.helper.Ready()
}

// tap is the plan's eth0, or nil.
func (n *netSetup) tap() *tapPlan {
	if n.helper == nil {
		return nil
	}
	return &tapPlan{Addr: n.route.Addr.Addr().String(), Prefix: n.route.Addr.Bits(), Gateway: n.route.Gateway.String(), MTU: network.MTU}
}

// state is what net.json records.
func (n *netSetup) state() NetState {
	s := NetState{Mode: n.mode.String(), Ports: n.ports}
	if n.helper != nil {
		s.Address, s.Gateway = n.route.Addr.String(), n.route.Gateway.String()
	}
	if n.slirp != nil {
		s.Address, s.Gateway = network.SlirpAddr.String(), network.SlirpGateway.String()
	}
	if n.member != nil {
		s.Network, s.NetworkAddress = n.user.Name, n.member.Addr.String()
		s.Aliases = n.member.Lease.Aliases
	}
	return s
}

// record writes net.json when there is more to say than the mode.
func (n *netSetup) record(dir string) error {
	if n.helper == nil && n.slirp == nil {
		return nil
	}
	return replaceJSON(dir, netFile, n.state())
}

// close lets go of skiff's copy of the socket: skiff-init holds its own from the plan on.
func (n *netSetup) close() {
	n.helper.Close()
	n.slirp.Close()
	if n.member != nil {
		n.member.Close()
	}
	n.files = nil
}

// etcFiles are the container's /etc/hosts, /etc/resolv.conf and /etc/hostname for its network.
func (n *netSetup) etcFiles(hostname, name string, o *RunOptions) map[string]string {
	etc := etcFiles(hostname, name, n.mode.Kind == network.Host)
	if n.mode.Kind == network.Host {
		return etc
	}
	if n.helper != nil || n.slirp != nil {
		names := hostname
		if name != "" && name != hostname {
			names += " " + name
		}
		addr, host := n.route.Addr.Addr(), n.route.Gateway // pasta maps its gateway to the host
		if n.slirp != nil {
			// slirp4netns reaches the host's loopback at its gateway only when allowed; the
			// host's own address, as podman does, otherwise
			addr, host = network.SlirpAddr.Addr(), n.route.Addr.Addr()
			if n.slirp.Opts.AllowHostLoopback {
				host = network.SlirpGateway
			}
		}
		own := addr.String() + "\t" + names + "\n"
		if m := n.member; m != nil { // on a user network: its address there (the others' come from the hub's DNS)
			own = m.Addr.Addr().String() + "\t" + strings.Join(append([]string{names}, m.Lease.Aliases...), " ") + "\n"
		}
		etc["/etc/hosts"] = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n" + own +
			host.String() + "\thost.containers.internal host.docker.internal\n"
	}
	var ns []string
	if n.helper != nil {
		ns = []string{network.DNSForward}
	}
	if n.slirp != nil {
		ns = []string{network.SlirpDNS.String()}
	}
	dns := o.Net.DNS
	if n.member != nil {
		// the hub answers for the network's names and refuses the rest, which the next asks
		ns = append([]string{n.user.Gateway}, ns...)
		if len(dns) > 0 {
			dns = append([]string{n.user.Gateway}, dns...)
		}
	}
	etc["/etc/resolv.conf"] = network.ResolvConf(etc["/etc/resolv.conf"], ns, dns, o.Net.DNSSearch, o.Net.DNSOptions)
	return etc
}

// portLines are `skiff port`'s lines for a container, or only those of CTRPORT[/PROTO].
func PortLines(s NetState, filter string) ([]string, error) {
	want, proto, _ := strings.Cut(filter, "/")
	var out []string
	for _, p := range s.Ports {
		p.Each(func(q network.Port) {
			if filter != "" && (fmt.Sprint(q.ContainerPort) != want || (proto != "" && proto != q.Protocol)) {
				return
			}
			if filter != "" { // docker port CTR PORT: the host side alone
				out = append(out, q.HostAddr())
				return
			}
			out = append(out, q.String())
		})
	}
	if filter != "" && len(out) == 0 {
		return nil, fmt.Errorf("no public port %s published", filter)
	}
	return out, nil
}

// exposeKeys reads --expose PORT[/PROTO] or FIRST-LAST[/PROTO] as the image config's
// ExposedPorts keys, one per port ("80/tcp").
func exposeKeys(e string) ([]string, error) {
	bad := fmt.Errorf("invalid --expose %s: give PORT[/tcp|udp|sctp] or FIRST-LAST[/tcp|udp|sctp]", e)
	ports, proto, hasProto := strings.Cut(e, "/")
	if !hasProto {
		proto = "tcp"
	}
	first, last, isRange := strings.Cut(ports, "-")
	if !isRange {
		last = first
	}
	lo, err1 := strconv.Atoi(first)
	hi, err2 := strconv.Atoi(last)
	if err1 != nil || err2 != nil || lo < 1 || hi > 65535 || lo > hi || (proto != "tcp" && proto != "udp" && proto != "sctp") {
		return nil, bad
	}
	var keys []string
	for p := lo; p <= hi; p++ {
		keys = append(keys, strconv.Itoa(p)+"/"+proto)
	}
	return keys, nil
}
