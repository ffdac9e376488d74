package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSlirp4netns is --network slirp4netns, the fallback for hosts without passt: the
// container's tap0, DNS and way out, ports published through rootlesskit's port driver
// (skiff-rootlessport) and through slirp4netns's own, the helpers' lifetime, the default's
// fall-back when passt is missing, and its bad options; rootless and as root.
func TestSlirp4netns(t *testing.T) {
	www, udpEcho := webDir(t)
	// a server on every host address (slirp4netns reaches the host's own address), and one
	// on its loopback only (reached with allow_host_loopback=true)
	serve := func(addr, body string) int {
		l, err := net.Listen("tcp4", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		go http.Serve(l, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, body) }))
		return l.Addr().(*net.TCPAddr).Port
	}
	anyPort, loPort := serve("0.0.0.0:0", "from-host\n"), serve("127.0.0.1:0", "from-loopback\n")
	// a PATH with slirp4netns and no passt
	noPasst, err := os.MkdirTemp("", "skiff-nopasst-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(noPasst)
	os.Chmod(noPasst, 0o755)
	if err := os.Symlink("/usr/bin/slirp4netns", filepath.Join(noPasst, "slirp4netns")); err != nil {
		t.Fatal(err)
	}

	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		uid := m.hostUID()
		m.skiff("rm", "-f", "tslirp", "tslirp2", "tslirpu", "tslirpk")

		// tap0 at 10.0.2.100, the route through 10.0.2.2, slirp4netns's DNS forwarder
		r := m.skiff("run", "--rm", "--network", "slirp4netns", "bbtest", "sh", "-c",
			"ip -4 addr show tap0 | grep -o 'inet [0-9./]*'; ip -4 route | grep default | cut -d' ' -f1-3; cat /etc/resolv.conf")
		if norm(r.stdout) != "inet 10.0.2.100/24\ndefault via 10.0.2.2\nnameserver 10.0.2.3" {
			t.Errorf("--network slirp4netns: tap0, route, DNS: %v", r)
		}
		// the way out: a server on the host through host.containers.internal (the host's
		// address); its loopback only with allow_host_loopback=true, at 10.0.2.2
		if r := m.skiff("run", "--rm", "--network", "slirp4netns", "bbtest", "wget", "-qO-", fmt.Sprintf("http://host.containers.internal:%d/", anyPort)); norm(r.stdout) != "from-host" {
			t.Errorf("slirp4netns: a server on the host through host.containers.internal: %v", r)
		}
		if r := m.skiff("run", "--rm", "--network", "slirp4netns", "bbtest", "sh", "-c", fmt.Sprintf("wget -qO- http://10.0.2.2:%d/ || echo refused", loPort)); norm(r.stdout) != "refused" {
			t.Errorf("slirp4netns: the host's loopback is closed by default: %v", r)
		}
		if r := m.skiff("run", "--rm", "--network", "slirp4netns:allow_host_loopback=true", "bbtest", "wget", "-qO-", fmt.Sprintf("http://host.containers.internal:%d/", loPort)); norm(r.stdout) != "from-loopback" {
			t.Errorf("slirp4netns:allow_host_loopback=true: %v", r)
		}

		// -p through rootlesskit's port driver: port, inspect, the helpers while it runs
		port := freePort(t)
		m.mustSkiff(t, "run", "-d", "--name", "tslirp", "--network", "slirp4netns", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), "-v", www+":/www:ro",
			"bbtest", "httpd", "-f", "-p", "80", "-h", "/www")
		if body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", port), 10*time.Second); err != nil || body != "hello-web\n" {
			t.Errorf("slirp4netns, published port %d (rootlesskit): %q, %v", port, body, err)
		}
		if r := m.skiff("port", "tslirp"); norm(r.stdout) != fmt.Sprintf("80/tcp -> 127.0.0.1:%d", port) {
			t.Errorf("skiff port of a slirp4netns container: %v", r)
		}
		if r := m.skiff("inspect", "-f", "{{.NetworkSettings.IPAddress}} {{.HostConfig.NetworkMode}}", "tslirp"); norm(r.stdout) != "10.0.2.100 slirp4netns" {
			t.Errorf("inspect of a slirp4netns container: %v", r)
		}
		helpers := strings.Join(netHelpers(uid), " ")
		if !strings.Contains(helpers, ":slirp4netns") || !strings.Contains(helpers, ":skiff-rootlessport") {
			t.Errorf("slirp4netns and skiff-rootlessport should run beside the container: %q", helpers)
		}
		// the same port again: one line, 125, nothing more left running
		before := len(netHelpers(uid))
		if r := m.skiff("run", "--rm", "--network", "slirp4netns", "-p", fmt.Sprintf("127.0.0.1:%d:80", port), "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "already in use") {
			t.Errorf("slirp4netns, a published port in use: %v", r)
		}
		if after := len(netHelpers(uid)); after > before {
			t.Errorf("a failed slirp4netns run left a helper: %v", netHelpers(uid))
		}
		m.mustSkiff(t, "rm", "-f", "tslirp")
		if !waitFor(5*time.Second, func() bool { return len(netHelpers(uid)) == 0 }) {
			t.Errorf("slirp4netns helpers left after rm -f: %v", netHelpers(uid))
		}

		// -p through slirp4netns's own forwarding
		port2 := freePort(t)
		m.mustSkiff(t, "run", "-d", "--name", "tslirp2", "--network", "slirp4netns:port_handler=slirp4netns", "-p", fmt.Sprintf("%d:80", port2), "-v", www+":/www:ro",
			"bbtest", "httpd", "-f", "-p", "80", "-h", "/www")
		if body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", port2), 10*time.Second); err != nil || body != "hello-web\n" {
			t.Errorf("slirp4netns, published port %d (port_handler=slirp4netns): %q, %v", port2, body, err)
		}
		m.skiff("rm", "-f", "tslirp2")

		checkPortRange(t, m, "slirp4netns", www)

		// UDP through rootlesskit's port driver
		uport := freeUDPPort(t)
		m.mustSkiff(t, "run", "-d", "--name", "tslirpu", "--network", "slirp4netns", "-p", fmt.Sprintf("127.0.0.1:%d:9999/udp", uport), "-v", udpEcho+":/udpecho:ro", "bbtest", "/udpecho")
		got := udpEchoed(t, uport)
		if got != "ping-udp\n" {
			t.Errorf("slirp4netns: UDP through a published port: got %q", got)
		}
		m.skiff("rm", "-f", "tslirpu")

		// kill -9 of a foreground skiff: the container goes, and its helpers with it
		port3 := freePort(t)
		s := m.start(t, "run", "--rm", "--name", "tslirpk", "--network", "slirp4netns", "-p", fmt.Sprintf("127.0.0.1:%d:80", port3), "-v", www+":/www:ro",
			"bbtest", "httpd", "-f", "-p", "80", "-h", "/www")
		if body, err := httpGet(fmt.Sprintf("http://127.0.0.1:%d/", port3), 10*time.Second); err != nil || body != "hello-web\n" {
			t.Errorf("slirp4netns, foreground: %q, %v", body, err)
		}
		syscall.Kill(s.cmd.Process.Pid, syscall.SIGKILL)
		s.wait(t, 10*time.Second)
		if !waitFor(5*time.Second, func() bool { return len(netHelpers(uid)) == 0 }) {
			t.Errorf("slirp4netns helpers left after kill -9 of skiff: %v", netHelpers(uid))
		}
		m.skiff("rm", "-f", "tslirpk")

		// without passt the default network is slirp4netns; without either, a clear error
		if r := m.exec(opts{}, "env", "PATH="+noPasst, skiffBin, "run", "--rm", "bbtest", "sh", "-c", "ip -4 addr show tap0 | grep -o 'inet [0-9./]*'"); norm(r.stdout) != "inet 10.0.2.100/24" {
			t.Errorf("the default network without passt should be slirp4netns: %v", r)
		}
		if r := m.exec(opts{}, "env", "PATH=/nonexistent", skiffBin, "run", "--rm", "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "install passt") {
			t.Errorf("neither passt nor slirp4netns: %v", r)
		}
		if r := m.exec(opts{}, "env", "PATH=/nonexistent", skiffBin, "run", "--rm", "--network", "slirp4netns", "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "apt-get install slirp4netns") {
			t.Errorf("--network slirp4netns without slirp4netns: %v", r)
		}
		for _, c := range []struct{ network, want string }{
			{"slirp4netns:port_handler=vpnkit", "port_handler"},
			{"slirp4netns:enable_ipv6=true", "not supported"},
			{"slirp4netns:mtu=9", "mtu"},
			{"slirp4netns:nosuch=1", "unknown"},
		} {
			if r := m.skiff("run", "--rm", "--network", c.network, "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, c.want) {
				t.Errorf("--network %s: %v", c.network, r)
			}
		}
		if !waitFor(5*time.Second, func() bool { return len(netHelpers(uid)) == 0 }) {
			t.Errorf("slirp4netns helpers left: %v", netHelpers(uid))
		}

		// /dev/net/tun as Debian ships it (0600): the user-mode networks say how to fix it
		// (root opens it anyway); the tests run one at a time, so the mode is put back before
		// any other test needs it
		if m.root || os.Getuid() != 0 {
			return
		}
		if err := os.Chmod("/dev/net/tun", 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.Chmod("/dev/net/tun", 0o666)
		for _, network := range []string{"pasta", "slirp4netns"} {
			if r := m.skiff("run", "--rm", "--network", network, "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, "chmod 666 /dev/net/tun") {
				t.Errorf("--network %s with /dev/net/tun unusable: %v", network, r)
			}
		}
		if r := m.skiff("run", "--rm", "--network", "none", "bbtest", "echo", "ok"); norm(r.stdout) != "ok" {
			t.Errorf("--network none needs no /dev/net/tun: %v", r)
		}
		if !waitFor(5*time.Second, func() bool { return len(netHelpers(uid)) == 0 }) {
			t.Errorf("a helper left after /dev/net/tun failed: %v", netHelpers(uid))
		}
	})
}
