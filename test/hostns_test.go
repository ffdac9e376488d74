package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestHostNamespacesAndRunFlags: --uts host and --ipc host share the host's (no hostname is
// set on the host), exec enters a container that shares namespaces with the host (--network
// host, --uts host: a rootless skiff may not enter those, and need not), --shm-size,
// --group-add, --expose with -P, --platform, --sysctl, and their bad values.
func TestHostNamespacesAndRunFlags(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "hostns-" + m.name
		m.skiff("rm", "-f", name)
		id := runDetached(t, m, "--name", name, "--network", "host", "--uts", "host", "--ipc", "host", "bbtest", "sleep", "1019")
		defer m.skiff("rm", "-f", id)
		if r := m.skiff("exec", name, "sh", "-c", "hostname; cat /etc/hostname"); norm(r.stdout) != host+"\n"+host {
			t.Errorf("exec into a container with the host's network and UTS namespaces: want the host's name %q twice: %v", host, r)
		}
		if now, _ := os.Hostname(); now != host {
			t.Fatalf("--uts host changed the host's name to %q", now)
		}
		// --ipc host: the host's /dev/shm
		probe := filepath.Join("/dev/shm", "skiff-ipc-"+m.name)
		os.WriteFile(probe, []byte("shared\n"), 0o644)
		defer os.Remove(probe)
		if r := m.skiff("run", "--rm", "--ipc", "host", "bbtest", "cat", probe); norm(r.stdout) != "shared" {
			t.Errorf("--ipc host: the host's /dev/shm is not the container's: %v", r)
		}
		if r := m.skiff("run", "--rm", "bbtest", "cat", probe); r.code == 0 {
			t.Errorf("without --ipc host the host's /dev/shm must not show: %v", r)
		}
		if r := m.skiff("run", "--rm", "--shm-size", "3m", "bbtest", "sh", "-c", "df -k /dev/shm | tail -1"); !strings.Contains(r.stdout, " 3072 ") {
			t.Errorf("--shm-size 3m: /dev/shm should be 3072 KiB: %v", r)
		}
		if r := m.skiff("run", "--rm", "--user", "1000", "--group-add", "10", "--group-add", "nogroup", "bbtest", "id", "-G"); norm(r.stdout) != "1000 10 65534" {
			t.Errorf("--group-add 10 --group-add nogroup: %v", r)
		}
		if r := m.skiff("run", "--rm", "--platform", "linux/amd64", "bbtest", "true"); r.code != 0 {
			t.Errorf("--platform of this machine: %v", r)
		}
		ex := runDetached(t, m, "-P", "--expose", "7777", "--expose", "8000-8001/udp", "bbtest", "sleep", "1019")
		defer m.skiff("rm", "-f", ex)
		if r := m.skiff("port", ex); !strings.Contains(r.stdout, "7777/tcp ->") || !strings.Contains(r.stdout, "8000/udp ->") || !strings.Contains(r.stdout, "8001/udp ->") {
			t.Errorf("-P with --expose 7777 --expose 8000-8001/udp: %v", r)
		}
		// --sysctl: a namespaced setting in the container, not on the host; /proc/sys stays read-only
		before, _ := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start")
		r := m.skiff("run", "--rm", "--sysctl", "net.ipv4.ip_unprivileged_port_start=80", "--sysctl", "kernel.shmmax=123456", "bbtest",
			"sh", "-c", "cat /proc/sys/net/ipv4/ip_unprivileged_port_start /proc/sys/kernel/shmmax; echo 1 > /proc/sys/kernel/shmmax && echo writable")
		if norm(r.stdout) != "80\n123456" {
			t.Errorf("--sysctl: %v", r)
		}
		if after, _ := os.ReadFile("/proc/sys/net/ipv4/ip_unprivileged_port_start"); string(after) != string(before) {
			t.Errorf("--sysctl changed the host's setting: %q -> %q", before, after)
		}
		for _, bad := range [][]string{
			{"--sysctl", "vm.swappiness=1"}, {"--sysctl", "net.ipv4.no_such_thing=1"}, {"--sysctl", "kernel.shmmax"},
			{"--uts", "other"}, {"--ipc", "container:x"}, {"--pid", "host"}, {"--shm-size", "lots"},
			{"--group-add", "no-such-group"}, {"--expose", "70000"}, {"--platform", "linux/s390x"},
			{"--uts", "host", "--hostname", "h"}, {"--ipc", "host", "--shm-size", "1m"},
		} {
			args := append(append([]string{"run", "--rm", "--network", "none"}, bad...), "bbtest", "true")
			if r := m.skiff(args...); checkOneLineError(r) != "" {
				t.Errorf("run %s: want a one-line error: %v (%s)", strings.Join(bad, " "), r, checkOneLineError(r))
			}
		}
	})
}
