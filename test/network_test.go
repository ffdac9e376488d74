package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// buildUDPEcho builds a static UDP echo server (port 9999) into dir: the test image's busybox
// has no UDP server.
func buildUDPEcho(t *testing.T, dir string) string {
	t.Helper()
	src := filepath.Join(dir, "udpecho.go")
	prog := `package main

import "net"

func main() {
	c, err := net.ListenPacket("udp", ":9999")
	if err != nil {
		panic(err)
	}
	buf := make([]byte, 2048)
	for {
		n, a, err := c.ReadFrom(buf)
		if err == nil {
			c.WriteTo(buf[:n], a)
		}
	}
}
`
	if err := os.WriteFile(src, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "udpecho")
	cmd := exec.Command("go", "build", "-o", bin, src)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GO111MODULE=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the UDP echo server: %v: %s", err, out)
	}
	os.Chmod(bin, 0o755)
	return bin
}

// freeUDPPort is a UDP port on 127.0.0.1 that nothing is bound to now.
func freeUDPPort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// httpGet fetches url from the host, trying for up to d while the server starts.
func httpGet(url string, d time.Duration) (string, error) {
	c := http.Client{Timeout: 2 * time.Second}
	var last error
	for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		r, err := c.Get(url)
		if err != nil {
			last = err
			continue
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err == nil && r.StatusCode == 200 {
			return string(b), nil
		}
		last = fmt.Errorf("status %d, %v", r.StatusCode, err)
	}
	return "", last
}

// netHelpers are the live (not zombie) network helpers of uid: passt, skiff-netwait,
// skiff-netns, slirp4netns and skiff-rootlessport (known by its argv[0]).
func netHelpers(uid int) []string {
	ents, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range ents {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		status, err := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		if err != nil {
			continue
		}
		var name, state string
		owner := -1
		for _, l := range strings.Split(string(status), "\n") {
			f := strings.Fields(l)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "Name:":
				name = f[1]
			case "State:":
				state = f[1]
			case "Uid:":
				owner, _ = strconv.Atoi(f[1])
			}
		}
		if name == "skiff" {
			cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
			name, _, _ = strings.Cut(string(cmdline), "\x00")
		}
		if owner == uid && state != "Z" && (strings.HasPrefix(name, "passt") || strings.HasPrefix(name, "pasta") || name == "skiff-netwait" ||
			name == "skiff-netns" || name == "slirp4netns" || name == "skiff-rootlessport") {
			out = append(out, e.Name()+":"+name)
		}
	}
	return out
}

// webDir is a directory for the containers' httpd (index.html says hello-web) with the UDP
// echo server built into it; it goes when the test ends.
func webDir(t *testing.T) (dir, udpEcho string) {
	dir, err := os.MkdirTemp("", "skiff-www-") // not t.TempDir: its parent is closed to the test user
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("hello-web\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	return dir, buildUDPEcho(t, dir)
}

// freePortPair finds two free consecutive TCP ports on 127.0.0.1.
func freePortPair(t *testing.T) int {
	for i := 0; i < 50; i++ {
		p := freePort(t)
		if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1)); err == nil {
			l.Close()
			return p
		}
	}
	t.Fatal("no two free consecutive ports")
	return 0
}

// checkPortRange publishes a range of two ports (-p 127.0.0.1:P-P+1:80-81) with network and
// fetches a page through each.
func checkPortRange(t *testing.T, m *mode, network, www string) {
	p := freePortPair(t)
	m.mustSkiff(t, "run", "-d", "--name", "trange", "--network", network, "-p", fmt.Sprintf("127.0.0.1:%d-%d:80-81", p, p+1), "-v", www+":/www:ro",
		"bbtest", "sh", "-c", "httpd -p 81 -h /www; exec httpd -f -p 80 -h /www")
	defer m.skiff("rm", "-f", "trange")
	for _, hp := range []int{p, p + 1} {
		if body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", hp), 10*time.Second); err != nil || body != "hello-web\n" {
			t.Errorf("--network %s, port %d of the published range %d-%d: %q, %v", network, hp, p, p+1, body, err)
		}
	}
	if r := m.skiff("port", "trange"); norm(r.stdout) != fmt.Sprintf("80/tcp -> 127.0.0.1:%d\n81/tcp -> 127.0.0.1:%d", p, p+1) {
		t.Errorf("skiff port of a range: %v", r)
	}
}

// udpEchoed sends a line to the UDP port on 127.0.0.1 until an answer comes (10 s at most)
// and returns the answer.
func udpEchoed(t *testing.T, port int) string {
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); {
		c, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("ping-udp\n"))
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		buf := make([]byte, 64)
		n, err := c.Read(buf)
		c.Close()
		if err == nil {
			return string(buf[:n])
		}
	}
	return ""
}

func (m *mode) hostUID() int {
	if m.root {
		return 0
	}
	return m.uid
}

// TestNetwork is the default network (pasta), published ports, user networks with names,
// container: sharing, none, and the helpers' lifetime, rootless and as root.
func TestNetwork(t *testing.T) {
	www, udpEcho := webDir(t)
	// a server on the host's loopback, for the way out
	hostL, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hostL.Close()
	go http.Serve(hostL, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "from-host\n") }))
	hostPort := hostL.Addr().(*net.TCPAddr).Port

	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		uid := m.hostUID()
		net1 := "tnet-" + m.name
		m.skiff("rm", "-f", "tweb", "tsrv", "tcli", "tshare")
		m.skiff("network", "rm", "-f", net1)

		// the default network: eth0 with an address and a route, the host reachable by name
		if r := m.skiff("run", "--rm", "bbtest", "sh", "-c", "ip -4 route | grep -c default; grep -c 169.254.1.1 /etc/resolv.conf"); norm(r.stdout) != "1\n1" {
			t.Errorf("default network: a default route and the helper's DNS: %v", r)
		}
		url := fmt.Sprintf("http://host.containers.internal:%d/", hostPort)
		if r := m.skiff("run", "--rm", "bbtest", "wget", "-qO-", url); norm(r.stdout) != "from-host" {
			t.Errorf("a server on the host through host.containers.internal: %v", r)
		}
		if r := m.skiff("run", "--rm", "bbtest", "grep", "-c", "host.docker.internal", "/etc/hosts"); norm(r.stdout) != "1" {
			t.Errorf("host.docker.internal in /etc/hosts: %v", r)
		}
		// none: loopback only, no route out
		if r := m.skiff("run", "--rm", "--network", "none", "bbtest", "sh", "-c", "ip -4 route | wc -l; wget -qO- "+fmt.Sprintf("http://192.0.2.1:%d/", hostPort)+" || echo unreachable"); norm(r.stdout) != "0\nunreachable" {
			t.Errorf("--network none has no route: %v", r)
		}
		// --dns, --dns-search, --dns-option, --hostname, --add-host
		r := m.skiff("run", "--rm", "--dns", "192.0.2.53", "--dns-search", "example.com", "--dns-option", "ndots:3", "--hostname", "box1",
			"--add-host", "db:192.0.2.77", "bbtest", "sh", "-c", "cat /etc/resolv.conf; hostname; grep db /etc/hosts")
		if norm(r.stdout) != "search example.com\nnameserver 192.0.2.53\noptions ndots:3\nbox1\n192.0.2.77\tdb" {
			t.Errorf("--dns, --dns-search, --dns-option, --hostname, --add-host: %v", r)
		}

		// -p: a published TCP port answers the host; port shows it
		port := freePort(t)
		m.mustSkiff(t, "run", "-d", "--name", "tweb", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), "-v", www+":/www:ro",
			"bbtest", "httpd", "-f", "-p", "80", "-h", "/www")
		if body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", port), 10*time.Second); err != nil || body != "hello-web\n" {
			t.Errorf("published port %d: %q, %v", port, body, err)
		}
		if r := m.skiff("port", "tweb"); norm(r.stdout) != fmt.Sprintf("80/tcp -> 127.0.0.1:%d", port) {
			t.Errorf("skiff port: %v", r)
		}
		if r := m.skiff("port", "tweb", "80/tcp"); norm(r.stdout) != fmt.Sprintf("127.0.0.1:%d", port) {
			t.Errorf("skiff port CTR 80/tcp: %v", r)
		}
		if r := m.skiff("inspect", "-f", "{{json .NetworkSettings.Ports}}", "tweb"); norm(r.stdout) != fmt.Sprintf(`{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":"%d"}]}`, port) {
			t.Errorf("inspect's NetworkSettings.Ports: %v", r)
		}
		// a port in use: one line, 125, nothing left running
		before := len(netHelpers(uid))
		if r := m.skiff("run", "--rm", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "already in use") {
			t.Errorf("a published port in use: %v", r)
		}
		if after := len(netHelpers(uid)); after > before {
			t.Errorf("a failed run left a helper: %v", netHelpers(uid))
		}
		// container: shares tweb's network (its httpd on its loopback)
		if r := m.skiff("run", "--rm", "--network", "container:tweb", "bbtest", "wget", "-qO-", "http://127.0.0.1:80/"); norm(r.stdout) != "hello-web" {
			t.Errorf("--network container:tweb: %v", r)
		}
		m.mustSkiff(t, "rm", "-f", "tweb")
		if !waitFor(5*time.Second, func() bool { return len(netHelpers(uid)) == 0 }) {
			t.Errorf("network helpers left after the container was removed: %v", netHelpers(uid))
		}

		// a range of ports
		checkPortRange(t, m, "pasta", www)

		// UDP: an echo server behind a published port
		uport := freeUDPPort(t)
		m.mustSkiff(t, "run", "-d", "--name", "tudp", "-p", fmt.Sprintf("127.0.0.1:%d:9999/udp", uport), "-v", udpEcho+":/udpecho:ro", "bbtest", "/udpecho")
		got := udpEchoed(t, uport)
		if got != "ping-udp\n" {
			t.Errorf("UDP through a published port: got %q", got)
		}
		m.skiff("rm", "-f", "tudp")

		// -P publishes the image's EXPOSEd ports on free host ports
		ctx := buildDir(t, m, "netexpose", map[string]string{"Dockerfile": "FROM bbtest\nEXPOSE 80\n"})
		m.mustSkiff(t, "build", "-q", "-t", "localhost/netexpose-"+m.name, ctx)
		m.mustSkiff(t, "run", "-d", "--name", "tweb", "-P", "-v", www+":/www:ro", "localhost/netexpose-"+m.name, "httpd", "-f", "-p", "80", "-h", "/www")
		if hp := norm(m.skiff("port", "tweb", "80").stdout); !strings.HasPrefix(hp, "0.0.0.0:") {
			t.Errorf("-P: port 80 published on %q", hp)
		} else if body, err := httpGet("http://127.0.0.1:"+strings.TrimPrefix(hp, "0.0.0.0:")+"/", 10*time.Second); err != nil || body != "hello-web\n" {
			t.Errorf("-P: %q, %v", body, err)
		}
		m.skiff("rm", "-f", "tweb")
		m.skiff("rmi", "localhost/netexpose-"+m.name)

		// a user network: members reach each other by name and alias, both ways
		m.mustSkiff(t, "network", "create", net1)
		if r := m.skiff("network", "create", net1); checkOneLineError(r, 125) != "" {
			t.Errorf("network create of an existing name: %v", r)
		}
		if r := m.skiff("network", "ls", "--format", "{{.Name}} {{.Driver}}"); !contains(lines(r.stdout), net1+" bridge") {
			t.Errorf("network ls: %v", r)
		}
		m.mustSkiff(t, "run", "-d", "--name", "tsrv", "--network", net1, "--network-alias", "websrv", "-v", www+":/www:ro",
			"bbtest", "httpd", "-f", "-p", "80", "-h", "/www")
		m.mustSkiff(t, "run", "-d", "--name", "tcli", "--network", net1, "-v", www+":/www:ro", "bbtest", "httpd", "-f", "-p", "80", "-h", "/www")
		for _, name := range []string{"tsrv", "websrv"} {
			if r := m.skiff("exec", "tcli", "wget", "-qO-", "http://"+name+"/"); norm(r.stdout) != "hello-web" {
				t.Errorf("a member reaches %s by name: %v", name, r)
			}
		}
		if r := m.skiff("exec", "tsrv", "wget", "-qO-", "http://tcli/"); norm(r.stdout) != "hello-web" {
			t.Errorf("the first member reaches the later one by name: %v", r)
		}
		if r := m.skiff("run", "--rm", "--network", net1, "bbtest", "wget", "-qO-", fmt.Sprintf("http://host.containers.internal:%d/", hostPort)); norm(r.stdout) != "from-host" {
			t.Errorf("a member reaches out: %v", r)
		}
		if r := m.skiff("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.Aliases}}{{end}}", "tsrv"); norm(r.stdout) != "[websrv]" {
			t.Errorf("inspect's NetworkSettings.Networks: %v", r)
		}
		if r := m.skiff("network", "inspect", "--format", "{{len .Containers}}", net1); norm(r.stdout) != "2" {
			t.Errorf("network inspect: members: %v", r)
		}
		if r := m.skiff("network", "rm", net1); checkOneLineError(r, 125) != "" {
			t.Errorf("network rm with running members: %v", r)
		}
		if r := m.skiff("run", "--rm", "--network", "nosuchnet", "bbtest", "true"); checkOneLineError(r, 125) != "" {
			t.Errorf("an unknown network: %v", r)
		}
		// the names come from the hub's DNS, at the network's gateway (first in resolv.conf):
		// a member that left is gone from it, names of other networks are refused there
		gw := strings.TrimPrefix(strings.SplitN(m.skiff("exec", "tsrv", "cat", "/etc/resolv.conf").stdout, "\n", 2)[0], "nameserver ")
		if net.ParseIP(gw) == nil || !strings.HasPrefix(gw, "10.89.") {
			t.Errorf("a member's first name server should be its network's gateway, not %q", gw)
		}
		if r := m.skiff("exec", "tsrv", "nslookup", "tcli", gw); !strings.Contains(r.stdout, "Address") {
			t.Errorf("the hub's DNS answers a member's name: %v", r)
		}
		// --link to a member of the same network: docker's legacy link, its address and ports
		// (what it publishes) in the environment and /etc/hosts; from another network only
		// its name and environment (no address reaches it)
		lp := freePort(t)
		m.mustSkiff(t, "run", "-d", "--name", "tlnk", "--network", net1, "-p", fmt.Sprintf("127.0.0.1:%d:8080", lp), "bbtest", "sleep", "1000")
		addr := norm(m.skiff("inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "tlnk").stdout)
		r = m.skiff("run", "--rm", "--network", net1, "--link", "tlnk:db", "bbtest", "sh", "-c", "env; cat /etc/hosts")
		for _, want := range []string{"DB_NAME=/", "DB_PORT=tcp://" + addr + ":8080", "DB_PORT_8080_TCP=tcp://" + addr + ":8080",
			"DB_PORT_8080_TCP_ADDR=" + addr, "DB_PORT_8080_TCP_PORT=8080", "DB_PORT_8080_TCP_PROTO=tcp", addr + "\tdb tlnk"} {
			if net.ParseIP(addr) == nil || !strings.Contains(r.stdout, want) {
				t.Errorf("--link on a user network (address %q): no %q in %v", addr, want, r)
			}
		}
		if r := m.skiff("run", "--rm", "--network", "none", "--link", "tlnk:db", "bbtest", "sh", "-c", "env; cat /etc/hosts"); !strings.Contains(r.stdout, "DB_NAME=/") || strings.Contains(r.stdout, "DB_PORT") || strings.Contains(r.stdout, "\tdb") {
			t.Errorf("--link from another network: a name and no address: %v", r)
		}
		m.mustSkiff(t, "rm", "-f", "tlnk")
		m.mustSkiff(t, "rm", "-f", "tcli")
		if r := m.skiff("exec", "tsrv", "nslookup", "tcli", gw); !strings.Contains(r.stdout+r.stderr, "REFUSED") {
			t.Errorf("a member that left should be gone from the hub's DNS: %v", r)
		}
		m.mustSkiff(t, "rm", "-f", "tsrv")
		if !waitFor(5*time.Second, func() bool { return len(netHelpers(uid)) == 0 }) {
			t.Errorf("helpers or the networks' keeper left after the last member went: %v", netHelpers(uid))
		}
		m.mustSkiff(t, "network", "rm", net1)

		// ten containers each publishing a port, started at once
		ports := make([]int, 10)
		for i := range ports {
			ports[i] = freePort(t)
		}
		res := m.parallel(10, func(i int) []string {
			return []string{"run", "-d", "--name", fmt.Sprintf("tpar%d", i), "-p", fmt.Sprintf("127.0.0.1:%d:80", ports[i]), "-v", www + ":/www:ro",
				"bbtest", "httpd", "-f", "-p", "80", "-h", "/www"}
		})
		var wg sync.WaitGroup
		for i, r := range res {
			if r.code != 0 {
				t.Errorf("parallel run %d: %v", i, r)
				continue
			}
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				if body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", ports[i]), 15*time.Second); err != nil || body != "hello-web\n" {
					t.Errorf("parallel container %d's port: %q, %v", i, body, err)
				}
			}(i)
		}
		wg.Wait()
		for i := range ports {
			m.skiff("rm", "-f", fmt.Sprintf("tpar%d", i))
		}
	})
}

// TestNetworkErrors: every bad network input is one line and exit 125.
func TestNetworkErrors(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		for _, c := range []struct {
			name string
			args []string
			want string
		}{
			{"bad publish", []string{"run", "--rm", "-p", "1:2:3:4", "bbtest", "true"}, "invalid -p"},
			{"bad protocol", []string{"run", "--rm", "-p", "80/sctp", "bbtest", "true"}, "not supported"},
			{"range mismatch", []string{"run", "--rm", "-p", "8000-8002:80", "bbtest", "true"}, "differ in length"},
			{"publish with none", []string{"run", "--rm", "--network", "none", "-p", "8080:80", "bbtest", "true"}, "-p/-P"},
			{"alias without network", []string{"run", "--rm", "--network-alias", "x", "bbtest", "true"}, "--network-alias"},
			{"dns with host", []string{"run", "--rm", "--network", "host", "--dns", "1.1.1.1", "bbtest", "true"}, "--dns"},
			{"container not running", []string{"run", "--rm", "--network", "container:nosuchctr", "bbtest", "true"}, "nosuchctr"},
			{"bad network name", []string{"network", "create", "bad name"}, "invalid network name"},
			{"bad subnet", []string{"network", "create", "--subnet", "300.1.1.0/24", "tn-bad"}, "--subnet"},
			{"builtin name", []string{"network", "create", "host"}, "built-in"},
			{"rm missing", []string{"network", "rm", "nosuchnet"}, "no such network"},
			{"inspect missing", []string{"network", "inspect", "nosuchnet"}, "no such network"},
		} {
			r := m.skiff(c.args...)
			if msg := checkOneLineError(r, 125); msg != "" || !strings.Contains(r.stderr, c.want) {
				t.Errorf("%s: %s: %v", c.name, msg, r)
			}
		}
		if !m.root {
			if r := m.skiff("run", "--rm", "-p", "80:80", "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "needs root") {
				t.Errorf("a host port below 1024, rootless: %v", r)
			}
		}
		if r := m.skiff("network", "rm", "-f", "nosuchnet"); r.code != 0 {
			t.Errorf("network rm -f of a missing network: %v", r)
		}
	})
}
