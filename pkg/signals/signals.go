// Package signals delivers the signals skiff passes on to a container (docker's sig-proxy) to
// the code that forwards them.
//
// os/signal.Notify costs, for every signal it is told about, a round trip between the caller's
// thread and a thread it locks for the signal mask: about a millisecond for the eighteen skiff
// forwards, on the path of every `skiff run`. Catch instead installs one small C handler for all
// of them (with SA_ONSTACK, as the runtime asks of foreign handlers) that writes the signal's
// number to a pipe, which a goroutine reads through the runtime's poller. Stop puts the
// runtime's own handlers back.
package signals

/*
#cgo CFLAGS: -Wall -O2
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#define MAXSIG 65
static int pipe_w = -1;
static struct sigaction saved[MAXSIG];
static int caught[MAXSIG];

static void on_signal(int sig)
{
	int e = errno;
	unsigned char b = (unsigned char)sig;
	if (write(pipe_w, &b, 1) < 0) {
		// a full pipe drops the signal, as a full channel does for os/signal
	}
	errno = e;
}

// catch_signals points the n signals at on_signal, which writes to fd; it returns 0, or the
// signal whose sigaction failed (the ones before it are restored).
static int catch_signals(int fd, const int *sigs, int n)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	pipe_w = fd;
	for (int i = 0; i < n; i++) {
		int s = sigs[i];
		if (s <= 0 || s >= MAXSIG || sigaction(s, &sa, &saved[s]) < 0) {
			for (int j = 0; j < i; j++) {
				sigaction(sigs[j], &saved[sigs[j]], NULL);
				caught[sigs[j]] = 0;
			}
			return s > 0 ? s : -1;
		}
		caught[s] = 1;
	}
	return 0;
}

// release_signals gives the signals back to the handlers they had before catch_signals.
static void release_signals(void)
{
	for (int s = 1; s < MAXSIG; s++)
		if (caught[s]) {
			sigaction(s, &saved[s], NULL);
			caught[s] = 0;
		}
}
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// Forwarded are the signals skiff passes on to the container: all that a user or a service
// manager sends to end, reload or poke a process, but none the Go runtime needs for itself.
var Forwarded = []unix.Signal{unix.SIGHUP, unix.SIGINT, unix.SIGQUIT, unix.SIGTERM, unix.SIGUSR1, unix.SIGUSR2,
	unix.SIGALRM, unix.SIGCONT, unix.SIGWINCH, unix.SIGPWR, unix.SIGVTALRM, unix.SIGPROF, unix.SIGSYS, unix.SIGTRAP,
	unix.SIGXCPU, unix.SIGXFSZ, unix.SIGSTKFLT, unix.SIGIO}

// ParentDeath is the signal a foreground run asks the kernel for when its parent dies
// (PR_SET_PDEATHSIG): a real-time signal no one else sends, caught beside the forwarded ones.
// The kernel also sends it when only the thread that forked skiff ends, so its receiver checks
// that the parent is really gone (getppid changed).
const ParentDeath = unix.Signal(60)

// The pipe and the goroutine reading it live as long as the process: the handler may still run
// on another thread while Stop restores the old ones, and must never write to a closed (or
// reused) descriptor.
var (
	mu       sync.Mutex // one Catcher at a time: the handler writes to one pipe
	current  atomic.Pointer[chan os.Signal]
	pipeOnce sync.Once
	pipeW    int
	pipeErr  error
)

// A Catcher receives the forwarded signals until Stop.
type Catcher struct {
	// C delivers the signals; a signal is dropped when C is full, as with os/signal.
	C    <-chan os.Signal
	stop sync.Once
}

// ErrBusy is returned by Catch while another Catcher is active.
var ErrBusy = errors.New("signals are already being caught")

// Catch starts delivering the forwarded signals to C, until Stop. Before and after, they have
// the effect they had: with the Go runtime's handlers, the default action.
func Catch() (*Catcher, error) {
	if !mu.TryLock() {
		return nil, ErrBusy
	}
	if pipeOnce.Do(openPipe); pipeErr != nil {
		mu.Unlock()
		return nil, pipeErr
	}
	ch := make(chan os.Signal, 32)
	current.Store(&ch)
	sigs := make([]C.int, 0, len(Forwarded)+1)
	for _, s := range append(Forwarded, ParentDeath) {
		sigs = append(sigs, C.int(s))
	}
	if s := C.catch_signals(C.int(pipeW), &sigs[0], C.int(len(sigs))); s != 0 {
		current.Store(nil)
		mu.Unlock()
		return nil, fmt.Errorf("install a handler for signal %d", int(s))
	}
	return &Catcher{C: ch}, nil
}

// openPipe makes the handler's pipe and starts the goroutine that hands what it reads to the
// current Catcher.
func openPipe() {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC|unix.O_NONBLOCK); err != nil {
		pipeErr = os.NewSyscallError("pipe2", err)
		return
	}
	pipeW = p[1]
	r := os.NewFile(uintptr(p[0]), "signals") // non-blocking: read through the runtime's poller
	go func() {
		buf := make([]byte, 64)
		for {
			n, err := r.Read(buf)
			for _, b := range buf[:max(n, 0)] {
				if ch := current.Load(); ch != nil {
					select {
					case *ch <- unix.Signal(b):
					default:
					}
				}
			}
			if err != nil {
				return
			}
		}
	}()
}

// Stop ends the delivery and gives the signals back to their earlier handlers.
func (c *Catcher) Stop() {
	if c == nil {
		return
	}
	c.stop.Do(func() {
		C.release_signals()
		current.Store(nil)
		mu.Unlock()
	})
}
