package container

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/pkg/catalog"
)

// ErrNotRunning is wrapped by the error of a signal to a container that does not run.
var ErrNotRunning = errors.New("container is not running")

// Signal sends sig to a running container's skiff-init, which passes it on to the command
// (SIGKILL ends skiff-init, and the kernel the rest of the container with it).
func (r *Records) Signal(ref string, sig syscall.Signal) (Info, error) {
	in, err := r.Lookup(ref)
	if err != nil {
		return in, err
	}
	if !in.Running {
		return in, fmt.Errorf("cannot signal container %s: %w", ref, ErrNotRunning)
	}
	if err := signalKeeper(r.keeperPid(in), sig); err != nil {
		return in, fmt.Errorf("signal container %s: %w", ref, err)
	}
	return in, nil
}

// keeperPid is the pid of a running container's skiff-init. A container its skiff is still
// making has none recorded yet: the pid comes before the container runs (before the plan), so
// this waits for it, or for the lock to go (that skiff died first), up to a few seconds.
func (r *Records) keeperPid(in Info) int {
	if in.State.Pid > 0 {
		return in.State.Pid
	}
	dir := r.Path(in.ID)
	for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(2 * time.Millisecond) {
		if ok, pid := alive(dir); !ok || pid > 0 {
			return pid
		}
	}
	return 0
}

// signalKeeper signals pid after checking that it is a skiff-init: the pid comes from the
// container's running file, and a pid is reused once its process is gone.
func signalKeeper(pid int, sig syscall.Signal) error {
	if pid <= 0 {
		return errors.New("no process recorded for it")
	}
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || !bytes.Equal(bytes.TrimSpace(comm), []byte("skiff-init")) {
		return fmt.Errorf("its process %d is gone", pid)
	}
	if err := syscall.Kill(pid, sig); err != nil {
		return err
	}
	if sig != 0 {
		thawKeeper(pid) // a paused container gets the signal now, as docker's stop and kill do
	}
	return nil
}

// stopValue marks the signal of a stop (sigqueue's value): skiff-init does not restart a
// container stopped on purpose (skiff-init.c's STOP_VALUE).
const stopValue = 0x736b6966

// stopKeeper sends sig to skiff-init as signalKeeper does, with stopValue.
func stopKeeper(pid int, sig syscall.Signal) error {
	if err := signalKeeper(pid, 0); err != nil {
		return err
	}
	// siginfo_t: signo, errno, code (SI_QUEUE), then pid, uid and the value at byte 24
	var info [128]byte
	binary.NativeEndian.PutUint32(info[0:], uint32(sig))
	binary.NativeEndian.PutUint32(info[8:], uint32(0xffffffff)) // SI_QUEUE = -1
	binary.NativeEndian.PutUint32(info[16:], uint32(os.Getpid()))
	binary.NativeEndian.PutUint32(info[20:], uint32(os.Getuid()))
	binary.NativeEndian.PutUint32(info[24:], stopValue)
	_, _, e := unix.Syscall(unix.SYS_RT_SIGQUEUEINFO, uintptr(pid), uintptr(sig), uintptr(unsafe.Pointer(&info[0])))
	if e != 0 {
		return e
	}
	thawKeeper(pid)
	return nil
}

// Stop asks a running container to end with its stop signal (docker's stop: SIGTERM unless
// the image says otherwise), waits up to timeout, then kills it. A container that does not run
// is left as it is, as docker does. A timeout of UseStopTimeout is the container's own
// (--stop-timeout, 10 s by default; -1 waits for ever).
func (r *Records) Stop(ref string, timeout time.Duration) (Info, error) {
	in, err := r.Lookup(ref)
	if err != nil || !in.Running {
		return in, err
	}
	if timeout == UseStopTimeout {
		if timeout = in.StopTimeout(); timeout < 0 {
			timeout = 1<<63 - 1
		}
	}
	in.State.Pid = r.keeperPid(in)
	if timeout > 0 {
		if err := stopKeeper(in.State.Pid, in.StopSignal()); err == nil && r.waitStopped(in.ID, timeout) {
			return r.info(in.ID)
		}
	}
	_ = signalKeeper(in.State.Pid, syscall.SIGKILL)
	if !r.waitStopped(in.ID, 10*time.Second) {
		return in, fmt.Errorf("container %s still runs 10 s after SIGKILL", ref)
	}
	return r.info(in.ID)
}

// UseStopTimeout asks Stop for the container's own stop timeout.
const UseStopTimeout = time.Duration(-1)

// waitStopped waits up to timeout for the container's keeper to let go of its lock.
func (r *Records) waitStopped(id string, timeout time.Duration) bool {
	return released(r.Path(id), timeout)
}

// Wait blocks until the container stops and returns its exit code (at once when it does not
// run).
func (r *Records) Wait(ref string) (int, error) {
	in, err := r.Lookup(ref)
	if err != nil {
		return -1, err
	}
	dir := r.Path(in.ID)
	if f, err := os.OpenFile(filepath.Join(dir, "running"), os.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
		// the keeper holds the lock exclusively until it exits
		for unix.Flock(int(f.Fd()), unix.LOCK_SH) == unix.EINTR {
		}
		f.Close()
	}
	in, err = r.info(in.ID)
	if err != nil {
		return -1, err
	}
	return in.State.ExitCode, nil
}

// ParseSignal reads a signal as docker's kill -s and STOPSIGNAL take it: KILL, SIGKILL or 9.
func ParseSignal(s string) (syscall.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q: numbers go from 1 to 64", s)
		}
		return syscall.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	return 0, fmt.Errorf("invalid signal %q: use a name such as TERM, KILL or HUP, or a number", s)
}

// StopSignal is the signal stop sends the container first.
func (in Info) StopSignal() syscall.Signal {
	if in.Meta.StopSignal != "" {
		if sig, err := ParseSignal(in.Meta.StopSignal); err == nil {
			return sig
		}
	}
	return syscall.SIGTERM
}

// Rename gives container ref the name newName (docker's rename): the new name is taken first,
// then config.json is replaced, then the old name is let go.
func (r *Records) Rename(ref, newName string) error {
	if err := ValidName(newName); err != nil {
		return err
	}
	in, err := r.Lookup(ref)
	if err != nil {
		return err
	}
	if in.Meta.Name == newName {
		return nil
	}
	if _, err := r.reserveName(newName, in.ID); err != nil {
		return err
	}
	m := in.Meta
	old := m.Name
	m.Name = newName
	if err := writeMeta(r.Path(in.ID), m); err != nil {
		r.releaseName(newName, in.ID)
		return fmt.Errorf("rename container %s: %w", ref, err)
	}
	r.releaseName(old, in.ID)
	return nil
}

// Prune removes every container that does not run and passes the filter (nil: all of them),
// and returns their IDs.
func (r *Records) Prune(f *catalog.PruneFilter) ([]string, error) {
	list, err := r.List()
	if err != nil {
		return nil, err
	}
	var gone []string
	for _, in := range list {
		if in.Running || !f.Match(in.Meta.Created, in.Meta.Labels) {
			continue
		}
		if err := r.remove(in.ID, in.Meta.Name, false); err != nil {
			return gone, err
		}
		gone = append(gone, in.ID)
	}
	return gone, nil
}

// Processes returns the host pids of a running container's processes, its skiff-init first:
// those in the pid namespace skiff-init's children live in.
func (r *Records) Processes(ref string) ([]int, error) {
	in, err := r.Lookup(ref)
	if err != nil {
		return nil, err
	}
	if !in.Running {
		return nil, fmt.Errorf("container %s is not running", ref)
	}
	if err := signalKeeper(in.State.Pid, 0); err != nil {
		return nil, fmt.Errorf("container %s: %w", ref, err)
	}
	pids, err := namespacePids(in.State.Pid)
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", ref, err)
	}
	return pids, nil
}
