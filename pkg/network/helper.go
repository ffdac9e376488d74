package network

import (
	"bufio"
	"bytes"
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
	done chan error // the launcher's end: nil when passt runs, or why it failed
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
	errR, errW, err := os.Pipe()
	if err != nil {
		ours.Close()
		return nil, err
	}
	defer errW.Close()
	null, err := os.Open(os.DevNull)
	if err != nil {
		ours.Close()
		errR.Close()
		return nil, err
	}
	defer null.Close()
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
	// a session of its own: a terminal's ^C is for the container, not for its helper. passt
	// forks into the background once it runs: the launcher's exit says it is ready.
	proc, err := os.StartProcess(prog, args, &os.ProcAttr{Files: []*os.File{null, null, errW, theirs},
		Sys: &syscall.SysProcAttr{Setsid: true}})
	if err != nil {
		ours.Close()
		errR.Close()
		return nil, fmt.Errorf("start the network helper %s: %w", prog, err)
	}
	h := &Helper{Sock: ours, done: make(chan error, 1)}
	go func() {
		st, err := proc.Wait()
		// what passt said is in the pipe by now; its background half may keep the pipe open
		var out bytes.Buffer
		_ = errR.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
		_, _ = io.Copy(&out, errR)
		errR.Close()
		if err == nil && !st.Success() {
			err = fmt.Errorf("the network helper (passt) failed: %s", helperMessage(out.String(), st.String()))
		}
		h.done <- err
	}()
	return h, nil
}

// helperMessage keeps passt's own lines, without its complaints about a missing syslog.
func helperMessage(out, status string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "Failed to send") {
			keep = append(keep, l)
		}
	}
	if len(keep) == 0 {
		return status
	}
	return strings.Join(keep, "; ")
}

// Ready waits until passt runs (it has bound the published ports) or failed.
func (h *Helper) Ready() error {
	err := <-h.done
	h.done <- err
	return err
}

// Close lets go of the container's end (skiff-init has its own copy by then): without
// skiff-init, passt sees the socket close and exits.
func (h *Helper) Close() {
	if h != nil && h.Sock != nil {
		h.Sock.Close()
	}
}
