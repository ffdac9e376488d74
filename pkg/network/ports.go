package network

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

// Port is one published port range: Count host ports from HostPort reach the container's
// ports from ContainerPort, over Protocol (tcp or udp). HostIP "" is every address.
type Port struct {
	HostIP        string `json:"host_ip"`
	HostPort      uint16 `json:"host_port"`
	ContainerPort uint16 `json:"container_port"`
	Count         uint16 `json:"range"`
	Protocol      string `json:"protocol"`
}

// String is docker's form, as `skiff port` shows it: 80/tcp -> 0.0.0.0:8080 (first of a range).
func (p Port) String() string {
	return fmt.Sprintf("%d/%s -> %s", p.ContainerPort, p.Protocol, p.HostAddr())
}

// BindIP is the host address the port is published on: 0.0.0.0 for every address.
func (p Port) BindIP() string {
	if p.HostIP == "" {
		return "0.0.0.0"
	}
	return p.HostIP
}

// HostAddr is the host side, IP:PORT (of the first port of a range).
func (p Port) HostAddr() string { return net.JoinHostPort(p.BindIP(), strconv.Itoa(int(p.HostPort))) }

// Each calls f for every single port of the range.
func (p Port) Each(f func(Port)) {
	for i := uint16(0); i < p.Count; i++ {
		q := p
		q.HostPort, q.ContainerPort, q.Count = p.HostPort+i, p.ContainerPort+i, 1
		f(q)
	}
}

func portRange(s string) (first, count uint16, err error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, err1 := strconv.ParseUint(lo, 10, 16)
	b := a
	var err2 error
	if isRange {
		b, err2 = strconv.ParseUint(hi, 10, 16)
	}
	if err1 != nil || err2 != nil || a == 0 || b < a {
		return 0, 0, errors.New("bad port")
	}
	return uint16(a), uint16(b - a + 1), nil
}

// ParsePublish reads one -p/--publish: [[IP:][HOSTPORT]:]CONTAINERPORT[/tcp|/udp], where the
// ports may be ranges (8000-8010:80-90) and IP may be in brackets ([::1]). A missing host
// port is a free one, chosen by Prepare.
func ParsePublish(spec string) ([]Port, error) {
	bad := func(why string) error {
		return fmt.Errorf("invalid -p %q: %s; use [IP:][HOSTPORT:]CONTAINERPORT[/tcp|udp], e.g. -p 8080:80 or -p 127.0.0.1:8080:80/udp", spec, why)
	}
	rest, proto, hasProto := strings.Cut(spec, "/")
	if !hasProto {
		proto = "tcp"
	}
	proto = strings.ToLower(proto)
	if proto != "tcp" && proto != "udp" {
		return nil, bad("protocol " + proto + " is not supported")
	}
	var ip, host, ctr string
	if strings.HasPrefix(rest, "[") { // [v6]:host:ctr
		end := strings.Index(rest, "]")
		if end < 0 || len(rest) < end+2 || rest[end+1] != ':' {
			return nil, bad("unclosed [")
		}
		ip, rest = rest[1:end], rest[end+2:]
		h, c, ok := strings.Cut(rest, ":")
		if !ok {
			return nil, bad("no container port")
		}
		host, ctr = h, c
	} else {
		parts := strings.Split(rest, ":")
		switch len(parts) {
		case 1:
			ctr = parts[0]
		case 2:
			host, ctr = parts[0], parts[1]
		case 3:
			ip, host, ctr = parts[0], parts[1], parts[2]
		default:
			return nil, bad("too many colons (an IPv6 address goes in brackets)")
		}
	}
	if ip != "" {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			return nil, bad("bad IP address " + ip)
		}
		ip = a.String()
	}
	cfirst, ccount, err := portRange(ctr)
	if err != nil {
		return nil, bad("bad container port " + strconv.Quote(ctr))
	}
	p := Port{HostIP: ip, ContainerPort: cfirst, Count: ccount, Protocol: proto}
	if host != "" {
		hfirst, hcount, err := portRange(host)
		if err != nil {
			return nil, bad("bad host port " + strconv.Quote(host))
		}
		if hcount != ccount {
			return nil, bad("the host and container ranges differ in length")
		}
		p.HostPort = hfirst
		if int(hfirst)+int(hcount)-1 > 65535 || int(cfirst)+int(ccount)-1 > 65535 {
			return nil, bad("port out of range")
		}
	}
	return []Port{p}, nil
}

// ExposedPorts turns an image's ExposedPorts ("80/tcp") into ports published on free host
// ports (-P).
func ExposedPorts(exposed map[string]struct{}) ([]Port, error) {
	keys := make([]string, 0, len(exposed))
	for k := range exposed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Port
	for _, k := range keys {
		ps, err := ParsePublish(k)
		if err != nil {
			return nil, fmt.Errorf("the image's EXPOSE %s: %w", k, err)
		}
		out = append(out, ps...)
	}
	return out, nil
}

// unprivilegedStart is the lowest port a process without CAP_NET_BIND_SERVICE may bind.
func unprivilegedStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
	if err != nil {
		return 1024
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 1024
	}
	return n
}

// CheckPorts makes sure every host port can be bound now, and picks free ones where none was
// given. rootless says the helper runs without privileges on the host. Its errors name the
// port and the fix.
func CheckPorts(ports []Port, rootless bool) error {
	low := unprivilegedStart()
	seen := map[string]bool{}
	for i := range ports {
		p := &ports[i]
		if p.HostPort == 0 {
			if p.Count != 1 {
				return fmt.Errorf("-p %d-%d: a range of container ports needs a host range of the same length", p.ContainerPort, p.ContainerPort+p.Count-1)
			}
			// a port the kernel called free can be taken before it is checked below by
			// another process binding one: then another is picked
			for try := 0; ; try++ {
				port, err := freePort(p.HostIP, p.Protocol)
				if err != nil {
					return fmt.Errorf("find a free host port for %d/%s: %w", p.ContainerPort, p.Protocol, err)
				}
				err = tryBind(net.JoinHostPort(p.HostIP, strconv.Itoa(int(port))), p.Protocol)
				if err == nil || !errors.Is(err, syscall.EADDRINUSE) || try == 4 {
					p.HostPort = port
					break
				}
			}
		}
		var err error
		p.Each(func(q Port) {
			hp := int(q.HostPort)
			key := q.Protocol + " " + strconv.Itoa(hp)
			switch {
			case err != nil:
			case seen[key]:
				err = fmt.Errorf("host port %d/%s is published twice", hp, q.Protocol)
			case rootless && hp < low:
				err = fmt.Errorf("publishing host port %d needs root: publish a port of %d or above (e.g. -p %d:%d), or lower net.ipv4.ip_unprivileged_port_start", hp, low, hp+8000, q.ContainerPort)
			default:
				seen[key] = true
				err = tryBind(net.JoinHostPort(q.HostIP, strconv.Itoa(hp)), q.Protocol)
				switch {
				case err == nil:
				case errors.Is(err, syscall.EADDRINUSE):
					err = fmt.Errorf("host port %s/%s is already in use: publish another one (-p OTHER:%d) or stop what holds it", q.HostAddr(), q.Protocol, q.ContainerPort)
				case errors.Is(err, syscall.EADDRNOTAVAIL):
					err = fmt.Errorf("cannot publish on %s: the host has no such address", q.HostIP)
				default:
					err = fmt.Errorf("publish host port %s/%s: %w", q.HostAddr(), q.Protocol, err)
				}
			}
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func tryBind(addr, proto string) error {
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return err
		}
		return c.Close()
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return l.Close()
}

func freePort(ip, proto string) (uint16, error) {
	addr := net.JoinHostPort(ip, "0")
	if proto == "udp" {
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return uint16(c.LocalAddr().(*net.UDPAddr).Port), nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return uint16(l.Addr().(*net.TCPAddr).Port), nil
}

// helperArgs are passt's -t/-u options for ports: [ADDR/]HOST[-END]:CTR[-END].
func helperArgs(ports []Port) []string {
	var args []string
	for _, p := range ports {
		flag := "-t"
		if p.Protocol == "udp" {
			flag = "-u"
		}
		spec := rangeString(p.HostPort, p.Count) + ":" + rangeString(p.ContainerPort, p.Count)
		if p.HostIP != "" {
			spec = p.HostIP + "/" + spec
		}
		args = append(args, flag, spec)
	}
	return args
}

func rangeString(first, count uint16) string {
	if count <= 1 {
		return strconv.Itoa(int(first))
	}
	return strconv.Itoa(int(first)) + "-" + strconv.Itoa(int(first)+int(count)-1)
}
