package network

import (
	"errors"
	"io"
	"net"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseMode(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Mode
		err  string
	}{
		{"", Mode{Kind: Pasta, Default: true}, ""},
		{"default", Mode{Kind: Pasta, Default: true}, ""},
		{"bridge", Mode{Kind: Pasta, Default: true}, ""},
		{"pasta", Mode{Kind: Pasta}, ""},
		{"none", Mode{Kind: None}, ""},
		{"host", Mode{Kind: Host}, ""},
		{"container:web", Mode{Kind: Container, Target: "web"}, ""},
		{"mynet", Mode{Kind: User, Target: "mynet"}, ""},
		{"container:", Mode{}, "use container:NAME"},
		{"none:x", Mode{}, "takes no options"},
		{"slirp4netns", Mode{Kind: Slirp}, ""},
		{"slirp4netns:port_handler=slirp4netns,mtu=1500", Mode{Kind: Slirp, Options: []string{"port_handler=slirp4netns", "mtu=1500"}}, ""},
		{"slirp4netns:cidr=10.1.0.0/24", Mode{}, "not supported"},
		{"bad name!", Mode{}, "invalid --network"},
	} {
		got, err := ParseMode(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseMode(%q) = %v, %v; want error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseMode(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestParseSlirpOptions(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want SlirpOptions
		err  string
	}{
		{nil, SlirpOptions{PortHandler: "rootlesskit", MTU: MTU}, ""},
		{[]string{"port_handler=slirp4netns"}, SlirpOptions{PortHandler: "slirp4netns", MTU: MTU}, ""},
		{[]string{"allow_host_loopback=true", "mtu=1500"}, SlirpOptions{PortHandler: "rootlesskit", AllowHostLoopback: true, MTU: 1500}, ""},
		{[]string{"port_handler=vpnkit"}, SlirpOptions{}, "port_handler is rootlesskit or slirp4netns"},
		{[]string{"allow_host_loopback=maybe"}, SlirpOptions{}, "true or false"},
		{[]string{"mtu=70000"}, SlirpOptions{}, "mtu is a number"},
		{[]string{"enable_ipv6=true"}, SlirpOptions{}, "not supported"},
		{[]string{"x"}, SlirpOptions{}, "unknown --network slirp4netns option"},
	} {
		got, err := ParseSlirpOptions(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseSlirpOptions(%q) = %v, %v; want error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("ParseSlirpOptions(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestParsePublish(t *testing.T) {
	for _, c := range []struct {
		in   string
		want Port
		err  string
	}{
		{"80", Port{ContainerPort: 80, Count: 1, Protocol: "tcp"}, ""},
		{"8080:80", Port{HostPort: 8080, ContainerPort: 80, Count: 1, Protocol: "tcp"}, ""},
		{"127.0.0.1:8080:80/udp", Port{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Count: 1, Protocol: "udp"}, ""},
		{"127.0.0.1::80", Port{HostIP: "127.0.0.1", ContainerPort: 80, Count: 1, Protocol: "tcp"}, ""},
		{"[::1]:8080:80", Port{HostIP: "::1", HostPort: 8080, ContainerPort: 80, Count: 1, Protocol: "tcp"}, ""},
		{"8000-8002:90-92/TCP", Port{HostPort: 8000, ContainerPort: 90, Count: 3, Protocol: "tcp"}, ""},
		{"8000-8002:90", Port{}, "differ in length"},
		{"80/sctp", Port{}, "sctp is not supported"},
		{"0:80", Port{}, "bad host port"},
		{"x:80", Port{}, "bad host port"},
		{"80:", Port{}, "bad container port"},
		{"1.2.3:80:80", Port{}, "bad IP address"},
		{"1:2:3:4", Port{}, "too many colons"},
		{"65535-65536:1-2", Port{}, "bad host port"},
		{"[::1:80", Port{}, "unclosed"},
	} {
		got, err := ParsePublish(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParsePublish(%q) = %v, %v; want error with %q", c.in, got, err, c.err)
			}
			continue
		}
		if err != nil || len(got) != 1 || got[0] != c.want {
			t.Errorf("ParsePublish(%q) = %+v, %v; want %+v", c.in, got, err, c.want)
		}
	}
}

func TestHelperArgs(t *testing.T) {
	ports := []Port{{HostPort: 8080, ContainerPort: 80, Count: 1, Protocol: "tcp"},
		{HostIP: "127.0.0.1", HostPort: 9000, ContainerPort: 90, Count: 3, Protocol: "udp"}}
	want := []string{"-t", "8080:80", "-u", "127.0.0.1/9000-9002:90-92"}
	if got := helperArgs(ports); !reflect.DeepEqual(got, want) {
		t.Errorf("helperArgs = %q, want %q", got, want)
	}
}

func TestCheckPorts(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	busy := uint16(l.Addr().(*net.TCPAddr).Port)
	free := []Port{{HostIP: "127.0.0.1", ContainerPort: 80, Count: 1, Protocol: "tcp"}}
	if err := CheckPorts(free, true); err != nil || free[0].HostPort == 0 {
		t.Errorf("CheckPorts chose no free port: %+v, %v", free, err)
	}
	for _, c := range []struct {
		ports []Port
		err   string
	}{
		{[]Port{{HostIP: "127.0.0.1", HostPort: busy, ContainerPort: 80, Count: 1, Protocol: "tcp"}}, "already in use"},
		{[]Port{{HostPort: 80, ContainerPort: 80, Count: 1, Protocol: "tcp"}}, "needs root"},
		{[]Port{{HostIP: "192.0.2.254", HostPort: 40000, ContainerPort: 80, Count: 1, Protocol: "tcp"}}, "no such address"},
		{[]Port{{HostPort: 40001, ContainerPort: 80, Count: 1, Protocol: "udp"}, {HostPort: 40001, ContainerPort: 81, Count: 1, Protocol: "udp"}}, "published twice"},
	} {
		err := CheckPorts(c.ports, true)
		if err == nil || !strings.Contains(err.Error(), c.err) {
			if c.err == "needs root" && unprivilegedStart() <= 80 {
				continue
			}
			t.Errorf("CheckPorts(%+v) = %v, want an error with %q", c.ports, err, c.err)
		}
	}
}

func TestHostRoute(t *testing.T) {
	table := `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eth0	0002000A	00000000	0001	0	0	0	00FFFFFF	0	0	0
eth0	00000000	0102000A	0003	0	0	0	00000000	0	0	0
`
	addrs := func(name string) ([]net.Addr, error) {
		if name != "eth0" {
			return nil, errors.New("no such interface")
		}
		return []net.Addr{&net.IPNet{IP: net.ParseIP("fe80::1"), Mask: net.CIDRMask(64, 128)},
			&net.IPNet{IP: net.ParseIP("10.0.2.15").To4(), Mask: net.CIDRMask(24, 32)}}, nil
	}
	r, err := hostRoute(strings.NewReader(table), addrs)
	if err != nil || r.Iface != "eth0" || r.Addr.String() != "10.0.2.15/24" || r.Gateway.String() != "10.0.2.1" {
		t.Errorf("hostRoute = %+v, %v", r, err)
	}
	if _, err := hostRoute(strings.NewReader(strings.Split(table, "\n")[0]+"\n"), addrs); err == nil || !strings.Contains(err.Error(), "no IPv4 default route") {
		t.Errorf("hostRoute without a default route: %v", err)
	}
}

func TestResolvConf(t *testing.T) {
	host := "# comment\nnameserver 127.0.0.53\nsearch corp.example\noptions edns0\n"
	for _, c := range []struct {
		name                         string
		helper, dns, search, options []string
		want                         string
	}{
		{"host", nil, nil, nil, nil, "search corp.example\nnameserver 127.0.0.53\noptions edns0\n"},
		{"helper", []string{DNSForward}, nil, nil, nil, "search corp.example\nnameserver 169.254.1.1\noptions edns0\n"},
		{"flags", []string{DNSForward}, []string{"1.1.1.1", "8.8.8.8"}, []string{"a.example", "b.example"}, []string{"ndots:2"},
			"search a.example b.example\nnameserver 1.1.1.1\nnameserver 8.8.8.8\noptions ndots:2\n"},
		{"no search", []string{DNSForward}, nil, []string{"."}, nil, "nameserver 169.254.1.1\noptions edns0\n"},
	} {
		if got := ResolvConf(host, c.helper, c.dns, c.search, c.options); got != c.want {
			t.Errorf("%s: ResolvConf = %q, want %q", c.name, got, c.want)
		}
	}
}

// TestAddHostFwd talks to a stand-in for slirp4netns's API socket.
func TestAddHostFwd(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "api.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	reqs := make(chan string, 2)
	go func() {
		for _, answer := range []string{`{"return": {"id": 1}}`, `{"error": {"desc": "bad request: add_hostfwd: bind: Address already in use"}}`} {
			c, err := l.Accept()
			if err != nil {
				return
			}
			b, _ := io.ReadAll(c)
			reqs <- string(b)
			io.WriteString(c, answer)
			c.Close()
		}
	}()
	p := Port{HostIP: "127.0.0.1", HostPort: 8080, ContainerPort: 80, Count: 1, Protocol: "tcp"}
	if err := addHostFwd(sock, p); err != nil {
		t.Fatalf("addHostFwd: %v", err)
	}
	want := `{"arguments":{"guest_addr":"10.0.2.100","guest_port":80,"host_addr":"127.0.0.1","host_port":8080,"proto":"tcp"},"execute":"add_hostfwd"}`
	if got := strings.TrimSpace(<-reqs); got != want {
		t.Errorf("request %s, want %s", got, want)
	}
	if err := addHostFwd(sock, p); err == nil || !strings.Contains(err.Error(), "Address already in use") {
		t.Errorf("an error answer: %v", err)
	}
}
