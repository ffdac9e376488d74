package network

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// slirp4netns's fixed addresses with its default --cidr 10.0.2.0/24, as podman's
// slirp4netns mode has them: the container is .100 on tap0, the gateway .2 (the host, when
// allow_host_loopback is on) and the DNS forwarder .3.
var (
	SlirpAddr    = netip.MustParsePrefix("10.0.2.100/24")
	SlirpGateway = netip.MustParseAddr("10.0.2.2")
	SlirpDNS     = netip.MustParseAddr("10.0.2.3")
)

// SlirpTap is the device slirp4netns makes in the container (podman's name for it).
const SlirpTap = "tap0"

// SlirpOptions are what --network slirp4netns:OPTIONS may say (podman's names).
type SlirpOptions struct {
	// PortHandler publishes ports: "rootlesskit" (the default: rootlesskit's builtin port
	// driver, in a skiff-rootlessport process; connections seem to come from the container
	// itself) or "slirp4netns" (slirp4netns's own forwarding: the client's address is kept,
	// slower).
	PortHandler string
	// AllowHostLoopback lets the container reach the host's loopback at 10.0.2.2.
	AllowHostLoopback bool
	MTU               int
}

// ParseSlirpOptions reads port_handler=, allow_host_loopback= and mtu=.
func ParseSlirpOptions(opts []string) (SlirpOptions, error) {
	o := SlirpOptions{PortHandler: "rootlesskit", MTU: MTU}
	for _, kv := range opts {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "port_handler":
			if v != "rootlesskit" && v != "slirp4netns" {
				return o, fmt.Errorf("invalid --network slirp4netns option %q: port_handler is rootlesskit or slirp4netns", kv)
			}
			o.PortHandler = v
		case "allow_host_loopback":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return o, fmt.Errorf("invalid --network slirp4netns option %q: allow_host_loopback is true or false", kv)
			}
			o.AllowHostLoopback = b
		case "mtu":
			n, err := strconv.Atoi(v)
			if err != nil || n < 68 || n > MTU {
				return o, fmt.Errorf("invalid --network slirp4netns option %q: mtu is a number from 68 to %d", kv, MTU)
			}
			o.MTU = n
		case "enable_ipv6", "cidr", "outbound_addr", "outbound_addr6":
			return o, fmt.Errorf("--network slirp4netns option %q is not supported: use port_handler, allow_host_loopback or mtu", k)
		default:
			return o, fmt.Errorf("unknown --network slirp4netns option %q: use port_handler=rootlesskit|slirp4netns, allow_host_loopback=true|false or mtu=N", kv)
		}
	}
	return o, nil
}

// SlirpPath finds slirp4netns; its error names the package to install.
func SlirpPath() (string, error) {
	p, err := exec.LookPath("slirp4netns")
	if err != nil {
		return "", errors.New("--network slirp4netns needs slirp4netns, which is not installed: install it (apt-get install slirp4netns), or use pasta (the default)")
	}
	return p, nil
}

// CheckTun says whether /dev/net/tun can be opened, as slirp4netns will open it.
func CheckTun() error {
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("open /dev/net/tun: %v: user-mode networking needs it usable: chmod 666 /dev/net/tun (as distributions ship it), or use --network none or host", errors.Unwrap(err))
	}
	return f.Close()
}

// SlirpHelper is a container's slirp4netns and port forwarder, started once the container's
// network namespace exists and before its command runs. Both exit when Exit's other end
// closes: skiff-init holds it (HoldFile) for the container's life.
type SlirpHelper struct {
	Opts         SlirpOptions
	exitR, exitW *os.File
}

// NewSlirp makes the pipe that ties the helpers' lives to the container's.
func NewSlirp(opts SlirpOptions) (*SlirpHelper, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return &SlirpHelper{Opts: opts, exitR: r, exitW: w}, nil
}

// HoldFile is the pipe's end for skiff-init to hold.
func (s *SlirpHelper) HoldFile() *os.File { return s.exitW }

// Close lets go of skiff's ends: the helpers then live as long as skiff-init's end.
func (s *SlirpHelper) Close() {
	if s != nil {
		s.exitR.Close()
		s.exitW.Close()
	}
}

// Start runs slirp4netns for the network namespace netns (a descriptor of it), waits until
// it has configured tap0 there, and publishes ports: through self (skiff, which runs as
// skiff-rootlessport) with port_handler=rootlesskit, or through slirp4netns's API socket,
// made under runDir, with port_handler=slirp4netns.
func (s *SlirpHelper) Start(netns *os.File, runDir, self string, ports []Port) error {
	path, err := SlirpPath()
	if err != nil {
		return err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		return err
	}
	defer readyR.Close()
	var api string
	args := []string{"slirp4netns", "--configure", "--mtu=" + strconv.Itoa(s.Opts.MTU),
		"--exit-fd=3", "--ready-fd=4", "--enable-sandbox", "--enable-seccomp"}
	if !s.Opts.AllowHostLoopback {
		args = append(args, "--disable-host-loopback")
	}
	if len(ports) > 0 && s.Opts.PortHandler == "slirp4netns" {
		f, err := os.CreateTemp(runDir, "slirp-*.sock")
		if err != nil {
			readyW.Close()
			return fmt.Errorf("the socket for slirp4netns's ports: %w", err)
		}
		api = f.Name()
		f.Close()
		os.Remove(api)
		defer os.Remove(api) // slirp4netns keeps listening on it; nothing else needs its name
		args = append(args, "--api-socket", api)
	}
	args = append(args, "--netns-type=path", "/proc/self/fd/5", SlirpTap)
	h, err := startHelper(path, args, []*os.File{s.exitR, readyW, netns})
	readyW.Close()
	if err != nil {
		return err
	}
	defer h.close()
	// slirp4netns writes "1" once tap0 is up, or exits
	got := make(chan []byte, 1)
	go func() {
		b := make([]byte, 1)
		n, _ := readyR.Read(b)
		got <- b[:n]
	}()
	select {
	case b := <-got:
		if len(b) == 0 {
			return fmt.Errorf("slirp4netns failed: %s", h.message("it exited without a message"))
		}
	case <-time.After(30 * time.Second):
		return errors.New("slirp4netns did not configure the container's network in 30 s")
	}
	if len(ports) == 0 {
		return nil
	}
	if api != "" {
		for _, p := range ports {
			var err error
			p.Each(func(q Port) {
				if err == nil {
					err = addHostFwd(api, q)
				}
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	return startPortForwarder(self, runDir, s.exitR, netns, SlirpAddr.Addr().String(), ports)
}

// addHostFwd asks slirp4netns (on its API socket) to forward a host port to the container.
func addHostFwd(api string, p Port) error {
	c, err := net.DialTimeout("unix", api, 5*time.Second)
	if err != nil {
		return fmt.Errorf("slirp4netns's API socket: %w", err)
	}
	defer c.Close()
	req := map[string]any{"execute": "add_hostfwd", "arguments": map[string]any{
		"proto": p.Protocol, "host_addr": p.BindIP(), "host_port": p.HostPort,
		"guest_addr": SlirpAddr.Addr().String(), "guest_port": p.ContainerPort}}
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return fmt.Errorf("slirp4netns's API socket: %w", err)
	}
	_ = c.(*net.UnixConn).CloseWrite()
	var rep struct {
		Error *struct {
			Desc string `json:"desc"`
		} `json:"error"`
	}
	b, err := io.ReadAll(io.LimitReader(c, 64<<10))
	if err != nil {
		return fmt.Errorf("slirp4netns's API socket: %w", err)
	}
	if err := json.Unmarshal(bytes.TrimSpace(b), &rep); err != nil {
		return fmt.Errorf("slirp4netns answered %q to add_hostfwd", b)
	}
	if rep.Error != nil {
		return fmt.Errorf("publish %s through slirp4netns: %s", p, rep.Error.Desc)
	}
	return nil
}
