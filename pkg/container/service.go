package container

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"
)

// What a service manager needs of `skiff run` (a systemd unit wrapping it, a script): readiness
// on NOTIFY_SOCKET, a container of the same name from a crash replaced, the container's ID and
// pid in files, and a stop timeout after which a forwarded stop signal becomes SIGKILL.

// Service are run's options for units and scripts.
type Service struct {
	// Notify is --sdnotify: "ready" (skiff says READY=1 once the command has started),
	// "container" (the command says it, through a socket skiff passes in and relays), or
	// "ignore"/"" (nothing).
	Notify string
	// NotifySocket is the service manager's socket (NOTIFY_SOCKET).
	NotifySocket string
	// Replace removes a container of the same --name first (--replace).
	Replace bool
	// CIDFile and PIDFile, when set, get the container's ID and its first process's pid (the
	// host's view of skiff-init); they go with the container.
	CIDFile, PIDFile string
	// StopTimeout is --stop-timeout in seconds (nil: 10): how long stop, and a foreground run
	// that got a SIGTERM or SIGINT, wait before SIGKILL.
	StopTimeout *int
	// StopSignal is --stop-signal: what stop sends first (the image's STOPSIGNAL otherwise).
	StopSignal string
}

// NotifyModes are --sdnotify's values.
var NotifyModes = []string{"ready", "container", "ignore"}

// DefaultStopTimeout is docker's stop grace time.
const DefaultStopTimeout = 10

// NotifyPath is where the command of a --sdnotify=container run finds the socket (podman's).
const NotifyPath = "/run/notify/notify.sock"

// check validates the options before anything is made.
func (s *Service) check(name string) error {
	switch s.Notify {
	case "", "ignore":
	case "ready", "container":
		if s.NotifySocket == "" {
			return fmt.Errorf("--sdnotify=%s needs NOTIFY_SOCKET, which systemd sets for a unit with Type=notify: run skiff under such a unit, or drop --sdnotify", s.Notify)
		}
	default:
		return fmt.Errorf("invalid --sdnotify %q: use %s", s.Notify, strings.Join(NotifyModes, ", "))
	}
	if s.Replace && name == "" {
		return errors.New("--replace needs --name: it replaces the container of that name")
	}
	if s.StopTimeout != nil && *s.StopTimeout < -1 {
		return fmt.Errorf("invalid --stop-timeout %d: give seconds, or -1 to wait for ever", *s.StopTimeout)
	}
	if s.StopSignal != "" {
		if _, err := ParseSignal(s.StopSignal); err != nil {
			return fmt.Errorf("invalid --stop-signal %q: %w", s.StopSignal, err)
		}
	}
	return nil
}

// checkCIDFile refuses a --cidfile that exists, as docker does: another container may use it.
func (s *Service) checkCIDFile() error {
	if s.CIDFile == "" {
		return nil
	}
	if _, err := os.Stat(s.CIDFile); err == nil {
		return fmt.Errorf("the container ID file %s exists: make sure the container it names is gone and remove the file, or give another --cidfile", s.CIDFile)
	}
	return nil
}

// replace removes the container named name, if there is one (--replace).
func (r *Records) replace(name string) error {
	id, err := os.Readlink(r.namePath(name))
	if err != nil {
		return nil
	}
	if _, err := r.Remove(id, true); err != nil {
		return fmt.Errorf("--replace: remove the container %s: %w", name, err)
	}
	return nil
}

// writeIDFile writes s and a newline to path, which must not exist.
func writeIDFile(path, s, flag string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", flag, err)
	}
	_, err = f.WriteString(s)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("%s: %w", flag, err)
	}
	return nil
}

// removeServiceFiles removes a container's --cidfile and --pidfile with it, where they still
// name it.
func removeServiceFiles(m Meta) {
	if m.CIDFile != "" {
		if b, err := os.ReadFile(m.CIDFile); err == nil && strings.TrimSpace(string(b)) == m.ID {
			_ = os.Remove(m.CIDFile)
		}
	}
	if m.PIDFile != "" {
		_ = os.Remove(m.PIDFile)
	}
}

// stopTimeout is the container's stop grace time.
func (m Meta) stopTimeout() time.Duration {
	if m.StopTimeout == nil {
		return DefaultStopTimeout * time.Second
	}
	return time.Duration(*m.StopTimeout) * time.Second
}

// StopTimeout is the grace time `stop` gives the container when -t is not given.
func (in Info) StopTimeout() time.Duration { return in.Meta.stopTimeout() }

// notifier tells the service manager that the container is ready.
type notifier struct {
	mode    string
	socket  string
	relay   *net.UnixConn // --sdnotify=container: the socket the command writes to
	path    string
	mainPid int
	mu      sync.Mutex
	ready   chan struct{}
	once    sync.Once
}

// newNotifier prepares --sdnotify: with "container" it binds the socket the command gets (in
// dir, skiff's run directory) and returns the bind mount and environment that pass it in.
func newNotifier(s Service, dir string) (*notifier, string, string, error) {
	if s.Notify != "ready" && s.Notify != "container" {
		return nil, "", "", nil
	}
	n := &notifier{mode: s.Notify, socket: s.NotifySocket, ready: make(chan struct{})}
	if s.Notify == "ready" {
		return n, "", "", nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, "", "", fmt.Errorf("--sdnotify=container: %w", err)
	}
	n.path = filepath.Join(dir, "notify-"+strconv.Itoa(os.Getpid())+".sock")
	_ = os.Remove(n.path)
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: n.path, Net: "unixgram"})
	if err != nil {
		return nil, "", "", fmt.Errorf("--sdnotify=container: the socket for the container: %w", err)
	}
	// the command may run as any user of the container
	if err := os.Chmod(n.path, 0o777); err != nil {
		c.Close()
		return nil, "", "", fmt.Errorf("--sdnotify=container: %w", err)
	}
	n.relay = c
	go n.relayLoop()
	return n, n.path + ":" + NotifyPath, "NOTIFY_SOCKET=" + NotifyPath, nil
}

// started is called once the command runs: pid is the process the service manager should
// watch (skiff itself in the foreground, skiff-init for a detached container).
func (n *notifier) started(pid int) {
	if n == nil {
		return
	}
	n.mu.Lock()
	n.mainPid = pid
	n.mu.Unlock()
	if n.mode == "ready" {
		n.send("MAINPID=" + strconv.Itoa(pid) + "\nREADY=1")
		n.once.Do(func() { close(n.ready) })
	}
}

// relayLoop passes what the command says on to the service manager, with skiff's MAINPID for
// its READY=1 (the command's own pid is its namespace's).
func (n *notifier) relayLoop() {
	buf := make([]byte, 4096)
	for {
		k, err := n.relay.Read(buf)
		if err != nil {
			return
		}
		var lines []string
		ready := false
		for _, l := range strings.Split(string(buf[:k]), "\n") {
			switch {
			case l == "", strings.HasPrefix(l, "MAINPID="):
			case l == "READY=1":
				ready = true
				lines = append(lines, l)
			default:
				lines = append(lines, l)
			}
		}
		if ready {
			n.mu.Lock()
			pid := n.mainPid
			n.mu.Unlock()
			if pid == 0 {
				pid = os.Getpid()
			}
			lines = append([]string{"MAINPID=" + strconv.Itoa(pid)}, lines...)
		}
		if len(lines) > 0 {
			n.send(strings.Join(lines, "\n"))
		}
		if ready {
			n.once.Do(func() { close(n.ready) })
		}
	}
}

// send writes one message to the service manager's socket (a missing listener is no error:
// the service manager decides what a unit that never said READY=1 means).
func (n *notifier) send(msg string) {
	if err := os.Setenv("NOTIFY_SOCKET", n.socket); err == nil {
		_, _ = daemon.SdNotify(false, msg)
	}
}

// waitReady waits, for a detached --sdnotify=container run, until the command said READY=1 or
// its keeper (pid) is gone.
func (n *notifier) waitReady(keeper int) {
	if n == nil || n.mode != "container" {
		return
	}
	for {
		select {
		case <-n.ready:
			return
		case <-time.After(100 * time.Millisecond):
		}
		var ws unix.WaitStatus
		if p, err := unix.Wait4(keeper, &ws, unix.WNOHANG, nil); p == keeper || err == unix.ECHILD {
			return
		}
		if syscall.Kill(keeper, 0) == syscall.ESRCH {
			return
		}
	}
}

// close ends the relay and removes its socket.
func (n *notifier) close() {
	if n == nil || n.relay == nil {
		return
	}
	n.relay.Close()
	_ = os.Remove(n.path)
}
