package network

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// DNSForward is the address in the container that the helper answers DNS queries on, by
// forwarding them to the host's resolver (which may be on the host's loopback).
const DNSForward = "169.254.1.1"

// MTU of the container's eth0: the largest frame passt takes.
const MTU = 65520

// Route is the host's way out, which the container's eth0 copies as pasta's --config-net
// does: the container has the host's address, and its gateway is the host's gateway, whose
// address the helper maps to the host itself (host.containers.internal).
type Route struct {
	Iface   string
	Addr    netip.Prefix
	Gateway netip.Addr
}

// HostRoute reads the host's IPv4 default route and the address of its interface.
func HostRoute() (Route, error) {
	f, err := os.Open("/proc/net/route")
	if err != nil {
		return Route{}, err
	}
	defer f.Close()
	return hostRoute(f, func(name string) ([]net.Addr, error) {
		i, err := net.InterfaceByName(name)
		if err != nil {
			return nil, err
		}
		return i.Addrs()
	})
}

func hostRoute(table io.Reader, addrs func(string) ([]net.Addr, error)) (Route, error) {
	noRoute := errors.New("the host has no IPv4 default route for the container's network to use: use --network none or host, or give the host a default route")
	sc := bufio.NewScanner(table)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 8 || f[1] != "00000000" || f[7] != "00000000" {
			continue
		}
		flags, _ := strconv.ParseUint(f[3], 16, 32)
		gw, err := strconv.ParseUint(f[2], 16, 32)
		if err != nil || flags&unix.RTF_UP == 0 || flags&unix.RTF_GATEWAY == 0 {
			continue
		}
		var b [4]byte
		binary.LittleEndian.PutUint32(b[:], uint32(gw))
		r := Route{Iface: f[0], Gateway: netip.AddrFrom4(b)}
		as, err := addrs(r.Iface)
		if err != nil {
			return Route{}, fmt.Errorf("read the addresses of %s: %w", r.Iface, err)
		}
		for _, a := range as {
			n, ok := a.(*net.IPNet)
			if !ok || n.IP.To4() == nil {
				continue
			}
			ip, _ := netip.AddrFromSlice(n.IP.To4())
			ones, _ := n.Mask.Size()
			r.Addr = netip.PrefixFrom(ip, ones)
			return r, nil
		}
		return Route{}, fmt.Errorf("the host's default route goes through %s, which has no IPv4 address: use --network none or host", r.Iface)
	}
	return Route{}, noRoute
}

// Helper is a started passt: Sock is the container's end of its socket, for skiff-init.
type Helper struct {
	Sock *os.File
	proc *helperProc // the launcher: passt, or skiff-netwait until the first frame
}

// Start launches the helper for a container whose eth0 is set up as r, publishing ports. It
// returns at once: passt takes a while to start (it touches tens of megabytes), and what the
// container sends meanwhile waits in the socket. Without ports to publish, passt starts only
// when the container first sends a frame: waiter (skiff-init, as skiff-netwait) holds the
// socket until then, so a container that never uses the network never costs a helper.
// Ready waits for passt to run.
func Start(waiter string, r Route, ports []Port) (*Helper, error) {
	path, err := HelperPath()
	if err != nil {
		return nil, err
	}
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socket for the network helper: %w", err)
	}
	ours, theirs := os.NewFile(uintptr(fds[0]), "net-relay"), os.NewFile(uintptr(fds[1]), "passt")
	defer theirs.Close()
	// the frames the container sends while passt starts wait here
	_ = unix.SetsockoptInt(fds[0], unix.SOL_SOCKET, unix.SO_SNDBUF, 4<<20)
	args := []string{"passt", "-q", "-e", "-4", "--fd", "3",
		"-a", r.Addr.Addr().String(), "-n", strconv.Itoa(r.Addr.Bits()), "-g", r.Gateway.String(),
		"--dns-forward", DNSForward, "--no-dhcp"}
	if len(ports) == 0 {
		args = append(args, "-t", "none", "-u", "none")
	}
	args = append(args, helperArgs(ports)...)
	prog := path
	if len(ports) == 0 {
		prog, args = waiter, append([]string{"skiff-netwait", path}, args[1:]...)
	}
	// passt forks into the background once it runs: the launcher's exit says it is ready
	p, err := startHelper(prog, args, []*os.File{theirs})
	if err != nil {
		ours.Close()
		return nil, fmt.Errorf("the network helper: %w", err)
	}
	return &Helper{Sock: ours, proc: p}, nil
}

// Ready waits until passt runs (it has bound the published ports) or failed.
func (h *Helper) Ready() error {
	<-h.proc.exited
	if st := h.proc.state; st == nil || !st.Success() {
		status := "it could not be waited for"
		if st != nil {
			status = st.String()
		}
		return fmt.Errorf("the network helper (passt) failed: %s", h.proc.message(status))
	}
	return nil
}

// Close lets go of the container's end (skiff-init has its own copy by then): without
// skiff-init, passt sees the socket close and exits.
func (h *Helper) Close() {
	if h != nil && h.Sock != nil {
		h.Sock.Close()
		h.proc.close()
	}
}

// helperProc is a started helper (passt, slirp4netns, skiff-rootlessport): its stderr is an
// unlinked file (a pipe would break it once skiff is gone), which message reads when it failed.
type helperProc struct {
	log    *os.File
	exited chan struct{}    // closed when the process has exited
	state  *os.ProcessState // then: how
}

// startHelper starts a helper in a session of its own (a terminal's ^C is for the container,
// not for its helper) with extra descriptors from 3 on.
func startHelper(path string, args []string, extra []*os.File) (*helperProc, error) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		return nil, err
	}
	defer null.Close()
	log, err := os.CreateTemp("", "skiff-helper-*.log")
	if err != nil {
		return nil, err
	}
	os.Remove(log.Name())
	files := append([]*os.File{null, null, log}, extra...)
	proc, err := os.StartProcess(path, args, &os.ProcAttr{Files: files, Sys: &syscall.SysProcAttr{Setsid: true}})
	if err != nil {
		log.Close()
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	h := &helperProc{log: log, exited: make(chan struct{})}
	go func() {
		h.state, _ = proc.Wait()
		close(h.exited)
	}()
	return h, nil
}

// message is what a failed helper said (its lines, without complaints about a missing
// syslog), or otherwise when it said nothing.
func (h *helperProc) message(otherwise string) string {
	select { // it is on its way out: let it finish its message
	case <-h.exited:
	case <-time.After(2 * time.Second):
	}
	b := make([]byte, 4096)
	n, _ := h.log.ReadAt(b, 0)
	var keep []string
	for _, l := range strings.Split(string(b[:n]), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Failed to send") {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return otherwise
	}
	return strings.Join(keep, "; ")
}

func (h *helperProc) close() { h.log.Close() }
