package integration

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// notifyListener stands in for systemd: a unix datagram socket whose messages it collects.
type notifyListener struct {
	path string
	conn *net.UnixConn
	msgs chan string
}

func listenNotify(t *testing.T, name string) *notifyListener {
	t.Helper()
	path := filepath.Join(tmpRoot, name+".sock")
	os.Remove(path)
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(path, 0o777) // the test user sends too
	l := &notifyListener{path: path, conn: c, msgs: make(chan string, 20)}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if err != nil {
				close(l.msgs)
				return
			}
			l.msgs <- string(buf[:n])
		}
	}()
	t.Cleanup(func() { c.Close(); os.Remove(path) })
	return l
}

// ready waits for the message with READY=1 and returns it.
func (l *notifyListener) ready(d time.Duration) (string, []string) {
	var seen []string
	tm := time.After(d)
	for {
		select {
		case m, ok := <-l.msgs:
			if !ok {
				return "", seen
			}
			seen = append(seen, m)
			if strings.Contains(m, "READY=1") {
				return m, seen
			}
		case <-tm:
			return "", seen
		}
	}
}

// sdSend builds a static program that sends its argument to $NOTIFY_SOCKET (for a container
// that says READY=1 itself; busybox cannot).
func sdSend(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(tmpRoot, "sdsend")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	src := filepath.Join(tmpRoot, "sdsend.c")
	os.WriteFile(src, []byte(`#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
int main(int argc, char **argv) {
	const char *p = getenv("NOTIFY_SOCKET");
	if (!p || argc < 2) return 2;
	int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strncpy(a.sun_path, p, sizeof a.sun_path - 1);
	return sendto(fd, argv[1], strlen(argv[1]), 0, (struct sockaddr *)&a, sizeof a) < 0;
}
`), 0o644)
	if out, err := exec.Command("musl-gcc", "-static", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("build the sd_notify sender (musl-tools is one of make deps' packages): %v %s", err, out)
	}
	os.Chmod(bin, 0o755)
	return bin
}

// TestSdNotify: --sdnotify=ready says READY=1 with skiff's pid as MAINPID once the command
// runs (and is the default when NOTIFY_SOCKET is set); --sdnotify=container gives the command a
// socket at $NOTIFY_SOCKET and relays what it says, its READY=1 with skiff's MAINPID.
func TestSdNotify(t *testing.T) {
	send := sdSend(t)
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		for _, c := range []struct{ name, flag string }{{"ready", "--sdnotify=ready"}, {"default", ""}} {
			l := listenNotify(t, "notify-"+c.name+"-"+m.name)
			args := []string{"env", "NOTIFY_SOCKET=" + l.path, skiffBin, "run", "--rm"}
			if c.flag != "" {
				args = append(args, c.flag)
			}
			s := startArgv(t, m.argv(append(args, "bbtest", "sh", "-c", "echo ready; sleep 2")...))
			msg, seen := l.ready(20 * time.Second)
			if want := "MAINPID=" + strconv.Itoa(s.cmd.Process.Pid); !strings.Contains(msg, want) || !strings.Contains(msg, "READY=1") {
				t.Errorf("%s: the notify socket got %q, want READY=1 and %s", c.name, seen, want)
			}
			if r := s.wait(t, 20*time.Second); r.code != 0 {
				t.Errorf("%s: %v", c.name, r)
			}
		}

		// start -a under a unit: the same readiness
		cname := "notify-start-" + m.name
		m.skiff("rm", "-f", cname)
		m.mustSkiff(t, "create", "--name", cname, "bbtest", "sh", "-c", "echo ready; sleep 1")
		l0 := listenNotify(t, "notify-start-"+m.name)
		s0 := startArgv(t, m.argv("env", "NOTIFY_SOCKET="+l0.path, skiffBin, "start", "-a", cname))
		if msg, seen := l0.ready(20 * time.Second); !strings.Contains(msg, "MAINPID="+strconv.Itoa(s0.cmd.Process.Pid)) {
			t.Errorf("start -a with NOTIFY_SOCKET: sent %q", seen)
		}
		s0.wait(t, 20*time.Second)
		m.skiff("rm", "-f", cname)

		// ignore: nothing is sent
		l := listenNotify(t, "notify-ignore-"+m.name)
		r := execArgv(m.argv("env", "NOTIFY_SOCKET="+l.path, skiffBin, "run", "--rm", "--sdnotify=ignore", "bbtest", "true"), opts{})
		if msg, seen := l.ready(time.Second); r.code != 0 || msg != "" || len(seen) != 0 {
			t.Errorf("--sdnotify=ignore: %v, sent %q", r, seen)
		}

		// container: the command's own messages, relayed
		l = listenNotify(t, "notify-container-"+m.name)
		s := startArgv(t, m.argv("env", "NOTIFY_SOCKET="+l.path, skiffBin, "run", "--rm", "--sdnotify=container", "-v", send+":/sdsend:ro",
			"bbtest", "sh", "-c", `test -S "$NOTIFY_SOCKET" && echo "$NOTIFY_SOCKET"; /sdsend STATUS=starting; sleep 0.5; /sdsend "MAINPID=1
READY=1"; sleep 1`))
		msg, seen := l.ready(20 * time.Second)
		want := "MAINPID=" + strconv.Itoa(s.cmd.Process.Pid)
		if len(seen) != 2 || seen[0] != "STATUS=starting" || !strings.Contains(msg, want) || strings.Contains(msg, "MAINPID=1\n") {
			t.Errorf("--sdnotify=container: the notify socket got %q, want STATUS=starting then READY=1 with %s", seen, want)
		}
		if r := s.wait(t, 20*time.Second); r.code != 0 || norm(r.stdout) != "/run/notify/notify.sock" {
			t.Errorf("--sdnotify=container: %v", r)
		}

		// a detached container: MAINPID is its keeper, which stays
		l = listenNotify(t, "notify-detached-"+m.name)
		name := "notify-d-" + m.name
		m.skiff("rm", "-f", name)
		r = execArgv(m.argv("env", "NOTIFY_SOCKET="+l.path, skiffBin, "run", "-d", "--name", name, "--sdnotify=container", "-v", send+":/sdsend:ro",
			"bbtest", "sh", "-c", "sleep 0.5; /sdsend READY=1; sleep 100"), opts{})
		msg, seen = l.ready(time.Second) // run -d returned after READY=1: it is there already
		pid := norm(m.mustSkiff(t, "inspect", "--format", "{{.State.Pid}}", name).stdout)
		if r.code != 0 || !strings.Contains(msg, "MAINPID="+pid) {
			t.Errorf("run -d --sdnotify=container: %v; sent %q, want MAINPID=%s (the keeper)", r, seen, pid)
		}
		m.skiff("rm", "-f", name)

		// no socket, a bad mode: one line, 125
		for _, args := range [][]string{{"--sdnotify=ready"}, {"--sdnotify=container"}, {"--sdnotify=sometimes"}} {
			if r := m.skiff(append(append([]string{"run", "--rm"}, args...), "bbtest", "true")...); checkOneLineError(r, 125) != "" {
				t.Errorf("run %s without NOTIFY_SOCKET: %v", args, r)
			}
		}
	})
}

// TestServiceStop: SIGTERM to a foreground run reaches the command (143) and leaves nothing;
// a command that ignores it is killed after --stop-timeout (137); stop uses the container's
// --stop-timeout.
func TestServiceStop(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "svc-term-" + m.name
		m.skiff("rm", "-f", name)
		mounts := countSkiffMounts()
		s := m.start(t, "run", "--rm", "--name", name, "bbtest", "sh", "-c", "echo ready; exec sleep 317")
		if !s.waitLine("ready", 20*time.Second) {
			t.Fatalf("never ready: %v", s.wait(t, 5*time.Second))
		}
		syscall.Kill(s.cmd.Process.Pid, syscall.SIGTERM)
		if r := s.wait(t, 15*time.Second); r.code != 143 {
			t.Errorf("SIGTERM to skiff run: %v, want 143", r)
		}
		if pids := procsMatching("sleep", "317"); len(pids) != 0 {
			t.Errorf("the container's process outlived skiff run: %v", pids)
		}
		if r := m.mustSkiff(t, "ps", "-a", "--format", "{{.Names}}"); contains(lines(r.stdout), name) {
			t.Errorf("--rm container left after SIGTERM: %v", r)
		}
		if n := countSkiffMounts(); n > mounts {
			t.Errorf("mounts of skiff left: %d before, %d after", mounts, n)
		}

		if m.root {
			// with limits: its cgroup goes too (rootless limits need the delegation TestLimits makes)
			cid := filepath.Join(tmpRoot, "svc-term-cid")
			os.Remove(cid)
			s := m.start(t, "run", "--rm", "--cidfile", cid, "--pids-limit", "50", "bbtest", "sh", "-c", "echo ready; exec sleep 317")
			if !s.waitLine("ready", 20*time.Second) {
				t.Fatalf("never ready: %v", s.wait(t, 5*time.Second))
			}
			b, _ := os.ReadFile(cid)
			cg := filepath.Join("/sys/fs/cgroup/pids/skiff", string(b))
			if _, err := os.Stat(cg); err != nil {
				t.Errorf("the container's cgroup %s: %v", cg, err)
			}
			syscall.Kill(s.cmd.Process.Pid, syscall.SIGTERM)
			if r := s.wait(t, 15*time.Second); r.code != 143 {
				t.Errorf("SIGTERM to skiff run --pids-limit 50: %v, want 143", r)
			}
			if _, err := os.Stat(cg); !os.IsNotExist(err) {
				t.Errorf("the container's cgroup is left after SIGTERM: %v", err)
			}
		}

		// the caller dies (a script's subshell killed): the container is stopped with it
		orphan := "svc-orphan-" + m.name
		m.skiff("rm", "-f", orphan)
		sh := startArgv(t, m.argv("sh", "-c", skiffBin+" run --rm --name "+orphan+" bbtest sh -c 'echo ready; exec sleep 318' & wait"))
		if !sh.waitLine("ready", 20*time.Second) {
			t.Fatalf("never ready: %v", sh.wait(t, 5*time.Second))
		}
		syscall.Kill(sh.cmd.Process.Pid, syscall.SIGKILL)
		if !waitFor(10*time.Second, func() bool {
			return len(procsMatching("sleep", "318")) == 0 && !contains(lines(m.skiff("ps", "-a", "--format", "{{.Names}}").stdout), orphan)
		}) {
			t.Errorf("the container of a foreground run outlived its caller: %v", m.skiff("ps", "-a"))
		}

		// a command that ignores SIGTERM: SIGKILL after the stop timeout
		s = m.start(t, "run", "--rm", "--stop-timeout", "1", "bbtest", "sh", "-c", `trap "" TERM; echo ready; while :; do sleep 0.2; done`)
		if !s.waitLine("ready", 20*time.Second) {
			t.Fatalf("never ready: %v", s.wait(t, 5*time.Second))
		}
		start := time.Now()
		syscall.Kill(s.cmd.Process.Pid, syscall.SIGTERM)
		r := s.wait(t, 15*time.Second)
		if took := time.Since(start); r.code != 137 || took < 900*time.Millisecond || took > 8*time.Second {
			t.Errorf("--stop-timeout 1 with SIGTERM ignored: %v after %v, want 137 after ~1 s", r, took)
		}

		// stop without -t: the container's --stop-timeout
		name = "svc-stop-" + m.name
		m.skiff("rm", "-f", name)
		m.mustSkiff(t, "run", "-d", "--name", name, "--stop-timeout", "1", "--stop-signal", "USR1", "bbtest", "sh", "-c", `trap "" USR1 TERM; while :; do sleep 0.2; done`)
		if r := m.mustSkiff(t, "inspect", "--format", "{{.Config.StopTimeout}} {{.Config.StopSignal}}", name); norm(r.stdout) != "1 USR1" {
			t.Errorf("inspect: %v", r)
		}
		start = time.Now()
		m.mustSkiff(t, "stop", name)
		if took := time.Since(start); took < 900*time.Millisecond || took > 8*time.Second {
			t.Errorf("stop with --stop-timeout 1 took %v", took)
		}
		m.skiff("rm", "-f", name)
	})
}

// TestServiceFiles: --replace, --cidfile and --pidfile make a unit restartable.
func TestServiceFiles(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "svc-rep-" + m.name
		m.skiff("rm", "-f", name)
		dir := filepath.Join(tmpRoot, "svc-"+m.name)
		os.MkdirAll(dir, 0o777)
		os.Chmod(dir, 0o777)
		cid, pidf := filepath.Join(dir, "cid"), filepath.Join(dir, "pid")
		os.Remove(cid)
		os.Remove(pidf)
		r := m.mustSkiff(t, "run", "-d", "--name", name, "--cidfile", cid, "--pidfile", pidf, "bbtest", "sleep", "300")
		id := norm(r.stdout)
		b, _ := os.ReadFile(cid)
		p, _ := os.ReadFile(pidf)
		pid := norm(m.mustSkiff(t, "inspect", "--format", "{{.State.Pid}}", name).stdout)
		if string(b) != id || strings.TrimSpace(string(p)) != pid {
			t.Errorf("--cidfile %q (want %s), --pidfile %q (want %s)", b, id, p, pid)
		}
		// a second container cannot take the ID file
		if r := m.skiff("run", "--rm", "--cidfile", cid, "bbtest", "true"); checkOneLineError(r, 125) != "" || !strings.Contains(r.stderr, cid) {
			t.Errorf("--cidfile that exists: %v", r)
		}
		// --replace: the leftover goes (and its files with it), the new one runs
		if r := m.skiff("run", "--rm", "--replace", "--name", name, "--cidfile", cid, "bbtest", "echo", "replaced"); r.code != 0 || norm(r.stdout) != "replaced" {
			t.Errorf("--replace: %v", r)
		}
		for _, f := range []string{cid, pidf} {
			if _, err := os.Stat(f); err == nil {
				t.Errorf("%s is left after the container was removed", f)
			}
		}
		if r := m.skiff("ps", "-a", "-q", "--no-trunc"); strings.Contains(r.stdout, id) {
			t.Errorf("the replaced container is still there: %v", r)
		}
		// --replace with nothing to replace, and create --replace
		if r := m.skiff("run", "--rm", "--replace", "--name", name, "bbtest", "true"); r.code != 0 {
			t.Errorf("--replace with no container of that name: %v", r)
		}
		m.mustSkiff(t, "run", "-d", "--name", name, "bbtest", "sleep", "300")
		if r := m.skiff("create", "--replace", "--name", name, "bbtest", "true"); r.code != 0 {
			t.Errorf("create --replace: %v", r)
		}
		if r := m.skiff("ps", "-a", "--filter", "name="+name, "--format", "{{.Status}}"); norm(r.stdout) != "Created" {
			t.Errorf("after create --replace: %v", r)
		}
		m.skiff("rm", "-f", name)
		for _, args := range [][]string{{"--replace"}, {"--stop-timeout", "soon"}, {"--stop-timeout", "-2"}, {"--stop-signal", "NOPE"}} {
			if r := m.skiff(append(append([]string{"run", "--rm"}, args...), "bbtest", "true")...); checkOneLineError(r, 125) != "" {
				t.Errorf("run %s: %v", args, r)
			}
		}
	})
}

// TestVersionFormat: version takes docker's templates ({{.Client.Version}}) and json.
func TestVersionFormat(t *testing.T) {
	m := rootlessMode
	v := norm(m.mustSkiff(t, "version", "--format", "{{.Client.Version}}").stdout)
	if v == "" || strings.Contains(v, "{") {
		t.Errorf("version --format {{.Client.Version}}: %q", v)
	}
	if r := m.mustSkiff(t, "version", "--format", "json"); !strings.Contains(r.stdout, `"Client":{"Version":"`+v+`"`) {
		t.Errorf("version --format json: %v", r)
	}
	if r := m.skiff("version", "--format", "{{.Client"); checkOneLineError(r, 125) != "" {
		t.Errorf("version with a bad template: %v", r)
	}
}
