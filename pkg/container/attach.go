package container

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
	"golang.org/x/term"

	"github.com/skiff-project/skiff/pkg/signals"
)

// AttachSocket is the name of a detached container's attach socket in its directory: a
// SOCK_SEQPACKET socket its keeper (skiff-init) listens on. A client sends packets of a kind
// byte and data: 'i' input for the command's stdin, 'w' a window size (rows and columns, two
// native-endian uint16). The keeper sends each client what the command writes from then on: a
// stream byte (1 stdout, 2 stderr) and the data.
const AttachSocket = "attach"

// DefaultDetachKeys are docker's: ctrl-p then ctrl-q leaves a container attached to.
const DefaultDetachKeys = "ctrl-p,ctrl-q"

// inDir names a file of directory fd for calls that take a path of at most 108 bytes (a
// socket's): a store's container directories can be longer.
func inDir(fd int, name string) string { return fmt.Sprintf("/proc/self/fd/%d/%s", fd, name) }

// listenAttach makes the attach socket in a detached container's directory, in place of one
// an earlier run of it left, and returns it listening, for skiff-init to serve.
func listenAttach(dir string) (*os.File, error) {
	d, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the container's directory: %w", err)
	}
	defer unix.Close(d)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("make the container's attach socket: %w", err)
	}
	path := inDir(d, AttachSocket)
	if err = unix.Bind(fd, &unix.SockaddrUnix{Name: path}); errors.Is(err, unix.EADDRINUSE) {
		_ = unix.Unlinkat(d, AttachSocket, 0) // the last run's
		err = unix.Bind(fd, &unix.SockaddrUnix{Name: path})
	}
	if err == nil {
		err = unix.Listen(fd, 4)
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("make the container's attach socket: %w", err)
	}
	return os.NewFile(uintptr(fd), AttachSocket), nil
}

// dialAttach connects to a running detached container's keeper (nil, nil: the container has
// no attach socket, or its keeper is gone).
func dialAttach(dir string) (*os.File, error) {
	d, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(d)
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: inDir(d, AttachSocket)}); err != nil {
		unix.Close(fd)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ECONNREFUSED) {
			return nil, nil
		}
		return nil, fmt.Errorf("connect to the container's keeper: %w", err)
	}
	return os.NewFile(uintptr(fd), AttachSocket), nil
}

// ParseDetachKeys reads docker's --detach-keys: keys separated by commas, each one character
// or ctrl- and one of a-z @ [ \ ] ^ _. An empty string turns detaching off.
func ParseDetachKeys(s string) ([]byte, error) {
	if s == "" {
		return nil, nil
	}
	var keys []byte
	for _, k := range strings.Split(s, ",") {
		switch {
		case len(k) == 1:
			keys = append(keys, k[0])
		case len(k) == 6 && strings.HasPrefix(strings.ToLower(k), "ctrl-"):
			c := k[5]
			switch {
			case c >= 'a' && c <= 'z':
				keys = append(keys, c-'a'+1)
			case c >= 'A' && c <= 'Z':
				keys = append(keys, c-'A'+1)
			case strings.IndexByte("@[\\]^_", c) >= 0:
				keys = append(keys, c-'@')
			default:
				return nil, fmt.Errorf("invalid --detach-keys %q: %q is no control key (ctrl- goes with a-z, @, [, \\, ], ^ or _)", s, k)
			}
		default:
			return nil, fmt.Errorf("invalid --detach-keys %q: give keys separated by commas, each one character or ctrl-X, such as %s", s, DefaultDetachKeys)
		}
	}
	return keys, nil
}

// keyScanner finds the detach keys in what is typed. Keys that may begin the sequence are held
// back until it is clear they do not.
type keyScanner struct {
	keys []byte
	held int
}

// scan returns what of b goes on to the container, and whether the whole sequence was typed
// (what follows it is dropped).
func (k *keyScanner) scan(b []byte) (out []byte, detach bool) {
	if len(k.keys) == 0 {
		return b, false
	}
	out = make([]byte, 0, len(b)+k.held)
	for _, c := range b {
		if c == k.keys[k.held] {
			if k.held++; k.held == len(k.keys) {
				return out, true
			}
			continue
		}
		if k.held > 0 {
			out = append(out, k.keys[:k.held]...)
			k.held = 0
			if c == k.keys[0] {
				k.held = 1
				continue
			}
		}
		out = append(out, c)
	}
	return out, false
}

// AttachOptions are skiff attach's.
type AttachOptions struct {
	Stdin          *os.File // nil: --no-stdin
	Stdout, Stderr io.Writer
	SigProxy       bool   // the signals skiff receives go to the container (docker's --sig-proxy)
	DetachKeys     []byte // typed in this order, they leave the container running (ParseDetachKeys)
}

// Attach connects to a running detached container (docker attach): its output from now on,
// and, when it was run with -i or -t, its stdin; with -t the user's terminal goes raw and
// passes its size on. It returns the container's exit code when it stops, or 0 when the
// detach keys leave it running.
func (r *Records) Attach(ref string, o AttachOptions) (int, error) {
	in, err := r.Lookup(ref)
	if err != nil {
		return 125, err
	}
	if !in.Running {
		return 125, fmt.Errorf("you cannot attach to a stopped container %s: start it first (skiff start -a %s)", ref, ref)
	}
	if in.Meta.LogDriver == "" {
		return 125, fmt.Errorf("container %s runs in the foreground of another skiff: its output goes there", ref)
	}
	conn, err := dialAttach(r.Path(in.ID))
	if err != nil {
		return 125, err
	}
	if conn == nil {
		return r.attachLog(in, ref, o)
	}
	defer conn.Close()
	var tty, interactive bool
	if in.Meta.Run != nil {
		tty, interactive = in.Meta.Run.Spec.TTY, in.Meta.Run.Spec.Interactive
	}
	stdin := o.Stdin
	if !tty && !interactive {
		stdin = nil // docker passes stdin only to a container that keeps one open
	}
	terminal := tty && stdin != nil && term.IsTerminal(int(stdin.Fd()))
	if terminal {
		if old, err := term.MakeRaw(int(stdin.Fd())); err == nil {
			defer func() { _ = term.Restore(int(stdin.Fd()), old) }()
		}
		sendSize(conn, stdin)
	}
	var resize func()
	if terminal {
		resize = func() { sendSize(conn, stdin) }
	}
	stop, err := forwardSignals(in.State.Pid, o.SigProxy, resize)
	if err != nil {
		return 125, err
	}
	defer stop()
	detached := make(chan struct{})
	if stdin != nil {
		go func() {
			scan := keyScanner{keys: o.DetachKeys}
			buf := make([]byte, 4097)
			buf[0] = 'i'
			for {
				n, err := stdin.Read(buf[1:])
				if n > 0 {
					out, detach := scan.scan(buf[1 : 1+n])
					if len(out) > 0 {
						if _, err := conn.Write(append([]byte{'i'}, out...)); err != nil {
							return
						}
					}
					if detach {
						close(detached)
						_ = unix.Shutdown(int(conn.Fd()), unix.SHUT_RDWR)
						return
					}
				}
				if err != nil {
					return // the end of input is not the container's: its stdin stays open
				}
			}
		}()
	}
	buf := make([]byte, 64<<10)
	for {
		n, err := conn.Read(buf)
		if n > 1 {
			w := o.Stdout
			if buf[0] == 2 {
				w = o.Stderr
			}
			_, _ = w.Write(buf[1:n])
		}
		if err != nil {
			break // the keeper is gone: the container has stopped
		}
	}
	select {
	case <-detached:
		return 0, nil
	default:
	}
	return r.Wait(in.ID)
}

// sendSize passes the terminal's size on to the container's.
func sendSize(conn, from *os.File) {
	ws, err := unix.IoctlGetWinsize(int(from.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	pkt := []byte{'w', 0, 0, 0, 0}
	binary.NativeEndian.PutUint16(pkt[1:], ws.Row)
	binary.NativeEndian.PutUint16(pkt[3:], ws.Col)
	_, _ = conn.Write(pkt)
}

// attachLog follows a container started by a skiff without attach sockets: its output from
// its log, no stdin.
func (r *Records) attachLog(in Info, ref string, o AttachOptions) (int, error) {
	if in.Meta.LogDriver == "none" {
		return 125, fmt.Errorf("container %s runs with --log-driver none and an older skiff's keeper: attach has nothing to show (restart it)", ref)
	}
	stop, err := forwardSignals(in.State.Pid, o.SigProxy, nil)
	if err != nil {
		return 125, err
	}
	defer stop()
	if err := r.Logs(in.ID, LogOptions{Follow: true, Tail: 0}, o.Stdout, o.Stderr); err != nil {
		return 125, err
	}
	return r.Wait(in.ID)
}

// forwardSignals passes the signals skiff receives on to the container whose keeper is pid,
// while attached (proxy: docker's --sig-proxy); with resize, SIGWINCH resizes the container's
// terminal instead. Without proxy, a signal caught for the window size alone acts as it would
// have. stop ends it.
func forwardSignals(pid int, proxy bool, resize func()) (stop func(), err error) {
	if !proxy && resize == nil {
		return func() {}, nil
	}
	sigs, err := signals.Catch()
	if err != nil {
		return nil, err
	}
	go func() {
		for sig := range sigs.C {
			switch {
			case sig == unix.SIGWINCH && resize != nil:
				resize()
			case proxy:
				_ = signalKeeper(pid, sig.(syscall.Signal))
			default:
				sigs.Stop()
				_ = unix.Kill(os.Getpid(), sig.(syscall.Signal))
			}
		}
	}()
	return sigs.Stop, nil
}
