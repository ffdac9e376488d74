package container

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/cgroups"
	"github.com/skiff-project/skiff/pkg/image"
	"github.com/skiff-project/skiff/pkg/spec"
)

// Records are skiff's own container records: containers/storage keeps the images and layers,
// skiff keeps its containers beside them, so that creating and removing one is a handful of
// file operations rather than rewrites of the storage library's JSON files. The layout, under
// the store's graph root:
//
//	skiff-containers/<id>/config.json  Meta, written once when the container is created
//	skiff-containers/<id>/state.json   State, replaced atomically
//	skiff-containers/<id>/running      exists while a process keeps the container: it holds an
//	                                   flock on it for as long as the container lives (the
//	                                   kernel drops it however that process dies) and wrote
//	                                   skiff-init's pid in it
//	skiff-containers/<id>/upper, work  the container's own overlay layer; skiff-init mounts the
//	                                   overlay on <id>/ itself, in the container's mount
//	                                   namespace only (a vfs store's copy is in <id>/rootfs/)
//	skiff-containers/names/<name>      symlink to <id>: creating it reserves the name
//	skiff-containers/lock              shared while a container is created (from its image to
//	                                   its directory's final name), exclusive while an image is
//	                                   deleted or a sweeper removes a killed creator's .new-<id>
//	skiff-containers/names.lock        exclusive while a name is reserved
//
// A container is created as .new-<id> and renamed into place, and removed by renaming it to
// .rm-<id> first, so a half-made or half-removed directory is never taken for a container;
// Sweep finishes what a killed skiff left.
type Records struct {
	Dir string
}

// OpenRecords returns the records of the store at graphRoot.
func OpenRecords(graphRoot string) *Records {
	return &Records{Dir: filepath.Join(graphRoot, "skiff-containers")}
}

// SweptRecords returns the records of the store at graphRoot after finishing what killed
// skiff processes left (Sweep).
func SweptRecords(graphRoot string) *Records {
	r := OpenRecords(graphRoot)
	r.Sweep()
	return r
}

// Meta is skiff's record of a container (config.json).
type Meta struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Image      string    `json:"image"` // as the user named it
	ImageID    string    `json:"imageID"`
	Command    []string  `json:"command"`
	Created    time.Time `json:"created"`
	AutoRemove bool      `json:"autoRemove,omitempty"`
	// Rootfs says how the root file system is made: "overlay" (upper over the image's layers)
	// or "copy" (a copy of a vfs store's layer in rootfs/).
	Rootfs string `json:"rootfs"`
	// LogDriver is where a detached container's output goes (see LogFile); "" when it ran in
	// the foreground.
	LogDriver string `json:"logDriver,omitempty"`
	// StopSignal is the image's STOPSIGNAL, what stop sends first ("" for SIGTERM).
	StopSignal string `json:"stopSignal,omitempty"`
	// Volumes are the volumes it mounts; AnonVolumes those made for it alone (-v /path, the
	// image's VOLUMEs), which rm -v and --rm remove with it.
	Volumes     []string `json:"volumes,omitempty"`
	AnonVolumes []string `json:"anonVolumes,omitempty"`
	// Labels are the image's labels overlaid with run's --label and --label-file.
	Labels map[string]string `json:"labels,omitempty"`
	// Run is how it was run, for start.
	Run *RunConfig `json:"run,omitempty"`
	// StopTimeout is --stop-timeout in seconds (nil: DefaultStopTimeout).
	StopTimeout *int `json:"stopTimeout,omitempty"`
	// CIDFile and PIDFile are run's --cidfile and --pidfile, removed with the container.
	CIDFile string `json:"cidFile,omitempty"`
	PIDFile string `json:"pidFile,omitempty"`
	// CreateCommand is the command line that made it (skiff generate systemd --new runs it
	// again), as podman keeps it.
	CreateCommand []string `json:"createCommand,omitempty"`
	// Healthcheck is the container's check (run's --health-* over the image's HEALTHCHECK).
	Healthcheck *image.HealthConfig `json:"healthcheck,omitempty"`
}

// RunConfig is what start needs to run a container again as run made it.
type RunConfig struct {
	Spec     spec.Options `json:"spec"`
	Links    []string     `json:"links,omitempty"`
	AddHosts []string     `json:"addHosts,omitempty"`
	Restart  string       `json:"restart,omitempty"`
	LogOpts  []string     `json:"logOpts,omitempty"`
	Net      NetOptions   `json:"net,omitempty"`
	// Limits are the resource flags; the cgroup made for them is in cgroup.json.
	Limits       cgroups.Limits `json:"limits,omitempty"`
	Cgroups      string         `json:"cgroups,omitempty"`
	CgroupParent string         `json:"cgroupParent,omitempty"`
}

// writeMeta replaces a container's config.json.
func writeMeta(dir string, m Meta) error { return replaceJSON(dir, "config.json", m) }

// replaceJSON replaces dir/name with v in JSON: written beside it as .NAME.tmp, renamed over it.
func replaceJSON(dir, name string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// State is a container's last known run state (state.json).
type State struct {
	Status     string    `json:"status"` // created, running, exited
	Pid        int       `json:"pid,omitempty"`
	ExitCode   int       `json:"exitCode"`
	OOMKilled  bool      `json:"oomKilled,omitempty"`
	StartedAt  time.Time `json:"startedAt,omitempty"`
	FinishedAt time.Time `json:"finishedAt,omitempty"`
}

// Info describes one container for ps, rm and inspect.
type Info struct {
	ID      string
	Names   []string
	Meta    Meta
	State   State
	Running bool
	Health  *Health // nil without a health check
}

// NewID returns a random 64-hex-digit container ID.
func NewID() string {
	var b [32]byte
	// getrandom(2) directly: crypto/rand would link the whole FIPS module into the run path
	for n := 0; n < len(b); {
		m, err := unix.Getrandom(b[n:], 0)
		if err != nil && err != unix.EINTR {
			panic(fmt.Sprintf("getrandom: %v", err))
		}
		n += max(m, 0)
	}
	return hex.EncodeToString(b[:])
}

// Path is the directory of container id.
func (r *Records) Path(id string) string { return filepath.Join(r.Dir, id) }

func (r *Records) namePath(name string) string { return filepath.Join(r.Dir, "names", name) }

// flock takes a lock on one of the records' lock files.
func (r *Records) flock(name string, how int) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(r.Dir, name), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if errors.Is(err, os.ErrNotExist) {
		if err = os.MkdirAll(filepath.Join(r.Dir, "names"), 0o700); err == nil {
			f, err = os.OpenFile(filepath.Join(r.Dir, name), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("container records: %w", err)
	}
	for {
		err = unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("container records: lock %s: %w", name, err)
	}
	return f, nil
}

// LockImages keeps images from being deleted (shared) or containers from being created
// (exclusive) until the returned function is called.
func (r *Records) LockImages(exclusive bool) (func(), error) {
	how := unix.LOCK_SH
	if exclusive {
		how = unix.LOCK_EX
	}
	f, err := r.flock("lock", how)
	if err != nil {
		return nil, err
	}
	return func() { f.Close() }, nil
}

// Handle is a container this process keeps: it holds the lock of its running file.
type Handle struct {
	ID, Dir string
	Meta    Meta
	r       *Records
	running *os.File
}

// Create makes the record of a new container and returns it kept by this process. A
// generated name (meta.Name empty) is retried when taken; a given one in use is an error.
func (r *Records) Create(meta Meta) (*Handle, error) {
	// shared with other creators, exclusive for a sweeper: a .new- directory is never seen
	// before its running file is there and locked
	unlock, err := r.LockImages(false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	return r.createLocked(meta)
}

// createLocked is Create for a caller that holds LockImages(false) already.
func (r *Records) createLocked(meta Meta) (*Handle, error) {
	meta.ID = NewID()
	if meta.Created.IsZero() {
		meta.Created = time.Now().UTC()
	}
	if err := os.MkdirAll(filepath.Join(r.Dir, "names"), 0o700); err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	// relative to open directories: a handful of syscalls, no path walked twice
	parent, err := unix.Open(r.Dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	defer unix.Close(parent)
	tmpName := ".new-" + meta.ID
	if err := unix.Mkdirat(parent, tmpName, 0o700); err != nil {
		return nil, fmt.Errorf("create container: %w", err)
	}
	tmp := filepath.Join(r.Dir, tmpName)
	h := &Handle{ID: meta.ID, Dir: tmp, r: r}
	fail := func(err error) (*Handle, error) {
		if h.running != nil {
			h.running.Close()
		}
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("create container: %w", err)
	}
	dir, err := unix.Openat(parent, tmpName, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail(err)
	}
	defer unix.Close(dir)
	fd, err := unix.Openat(dir, "running", unix.O_RDWR|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fail(err)
	}
	h.running = os.NewFile(uintptr(fd), "running")
	if err := unix.Flock(fd, unix.LOCK_EX); err != nil {
		return fail(err)
	}
	// the overlay's upper and work directories; skiff-init mounts the root on the container's
	// directory itself (a copy of a vfs layer goes in rootfs/, made by prepareRootfs)
	for _, d := range []string{"upper", "work"} {
		if err := unix.Mkdirat(dir, d, 0o700); err != nil {
			return fail(err)
		}
	}
	name, err := r.reserveName(meta.Name, meta.ID)
	if err != nil {
		h.running.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	meta.Name = name
	b, _ := json.Marshal(meta)
	cfd, err := unix.Openat(dir, "config.json", unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_CLOEXEC, 0o600)
	if err == nil {
		_, err = unix.Write(cfd, b)
		if cerr := unix.Close(cfd); err == nil {
			err = cerr
		}
	}
	if err != nil {
		r.releaseName(name, meta.ID)
		return fail(err)
	}
	if err := unix.Renameat(parent, tmpName, parent, meta.ID); err != nil {
		r.releaseName(name, meta.ID)
		return fail(err)
	}
	h.Dir, h.Meta = r.Path(meta.ID), meta
	return h, nil
}

// ErrNameInUse is wrapped by the error of a create whose --name another container has.
var ErrNameInUse = errors.New("name in use")

// reserveName links names/<name> to id; with name "" it picks a generated free one.
func (r *Records) reserveName(name, id string) (string, error) {
	lock, err := r.flock("names.lock", unix.LOCK_EX)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	generated := name == ""
	for try := 0; ; try++ {
		if generated {
			name = RandomName()
			if try >= 10 {
				name += strconv.Itoa(try)
			}
		}
		err := os.Symlink(id, r.namePath(name))
		if err == nil {
			return name, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return "", fmt.Errorf("reserve the container name %q: %w", name, err)
		}
		if owner, lerr := os.Readlink(r.namePath(name)); lerr == nil && !r.exists(owner) {
			// left by a skiff killed while removing its container
			os.Remove(r.namePath(name))
			if err := os.Symlink(id, r.namePath(name)); err == nil {
				return name, nil
			}
		}
		if !generated {
			return "", fmt.Errorf("the container name %q is already in use: choose another --name or remove that container (skiff rm %s): %w", name, name, ErrNameInUse)
		}
		if try > 100 {
			return "", errors.New("no free generated container name: give one with --name")
		}
	}
}

// exists reports whether container id has a directory, made or being made. The directory
// being made is looked for first: its creator renames it to the other, and in the other
// order a rename between the two looks would find neither (two containers got one name).
func (r *Records) exists(id string) bool {
	for _, d := range []string{".new-" + id, id} {
		if _, err := os.Lstat(r.Path(d)); err == nil {
			return true
		}
	}
	return false
}

func (r *Records) releaseName(name, id string) {
	if name == "" {
		return
	}
	if owner, err := os.Readlink(r.namePath(name)); err == nil && owner == id {
		os.Remove(r.namePath(name))
	}
}

// SetPid records the pid of the container's init (for kill and rm -f) and, on the next line,
// what exec needs to start more processes like the container's own (execConfig, JSON).
func (h *Handle) SetPid(pid int, exec []byte) {
	b := append([]byte(strconv.Itoa(pid)+"\n"), exec...)
	_, _ = h.running.WriteAt(b, 0)
}

// WriteState replaces the container's state.json.
func (h *Handle) WriteState(s State) error { return writeState(h.Dir, s) }

func writeState(dir string, s State) error { return replaceJSON(dir, "state.json", s) }

// Release says the container no longer runs: its running file goes, then the lock.
func (h *Handle) Release() {
	if h.running == nil {
		return
	}
	os.Remove(filepath.Join(h.Dir, "running"))
	h.running.Close()
	h.running = nil
}

// Detach lets go of the container without ending it: skiff-init, which holds the same lock,
// keeps it.
func (h *Handle) Detach() {
	if h.running != nil {
		h.running.Close()
		h.running = nil
	}
}

// dupRunning returns another descriptor of the locked running file (the same lock).
func (h *Handle) dupRunning() (*os.File, error) {
	fd, err := unix.FcntlInt(h.running.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "running"), nil
}

// Remove deletes the container this process keeps (for --rm), then lets go of it.
func (h *Handle) Remove() error {
	err := h.r.remove(h.ID, h.Meta.Name, false)
	return h.removed(err)
}

// Discard is Remove for a foreground --rm container at its exit: its record and name go at
// once, and so do its files, unless they are only the handful skiff and the kernel made for it
// (its overlay's directories, the mount points of /etc/hosts and the like: nothing the
// container wrote). Those few directories are left, renamed out of the way, to the next skiff
// command's sweep, which deletes them beside its own work: ext4 takes ~0.1 ms to remove a
// directory here, a millisecond of every run --rm otherwise.
func (h *Handle) Discard() error {
	err := h.r.remove(h.ID, h.Meta.Name, true)
	return h.removed(err)
}

func (h *Handle) removed(err error) error {
	if h.running != nil {
		h.running.Close()
		h.running = nil
	}
	if err == nil {
		h.r.removeAnonVolumes(h.Meta)
		removeServiceFiles(h.Meta)
	}
	return err
}

// RemoveVolumes removes the anonymous volumes of a removed container (rm -v) that no other
// container mounts.
func (r *Records) RemoveVolumes(in Info) { r.removeAnonVolumes(in.Meta) }

func (r *Records) graphRoot() string { return filepath.Dir(r.Dir) }

// remove renames the directory out of the way, frees the name and deletes the files.
// The remover holds a lock on the directory from before it is renamed until it is gone: a
// .rm- directory whose lock is free is a dead remover's, which Sweep finishes.
// With leaveSmall, a directory holding no more than what skiff itself makes for a container
// (smallTree) is left, unlocked, for the next Sweep.
func (r *Records) remove(id, name string, leaveSmall bool) error {
	gone := filepath.Join(r.Dir, ".rm-"+id)
	if d, err := os.Open(r.Path(id)); err == nil {
		defer d.Close()
		for unix.Flock(int(d.Fd()), unix.LOCK_EX) == unix.EINTR {
		}
	}
	if err := os.Rename(r.Path(id), gone); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove container %.12s: %w", id, err)
	}
	r.releaseName(name, id)
	_ = readCgroup(gone).Remove(0) // its processes are gone: a foreground --rm's skiff-init may not be yet (run removes it then)
	if leaveSmall && smallTree(gone, 32, 256<<10) {
		return nil
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("remove container %.12s: %w", id, err)
	}
	return nil
}

// smallTree reports whether the tree at dir has at most entries entries and bytes bytes of
// regular files; it stops reading as soon as it has seen more.
func smallTree(dir string, entries int, bytes int64) bool {
	var walk func(string) bool
	walk = func(d string) bool {
		ents, err := os.ReadDir(d)
		if err != nil {
			return false
		}
		for _, e := range ents {
			if entries--; entries < 0 {
				return false
			}
			p := filepath.Join(d, e.Name())
			switch t := e.Type(); {
			case t.IsDir():
				if !walk(p) {
					return false
				}
			case t.IsRegular():
				info, err := e.Info()
				if err != nil {
					return false
				}
				if bytes -= info.Size(); bytes < 0 {
					return false
				}
			}
		}
		return true
	}
	return walk(dir)
}

// released waits up to timeout for the process that keeps the container in dir to let go of
// its lock, and reports whether it did (at once when nobody keeps it). It waits in a blocking
// shared lock, which the kernel grants the moment the keeper's exclusive one goes: polling
// would add up to an interval to every stop and rm -f (5 ms polls were a third of an rm -f).
// After a timeout the waiting goroutine stays until the lock goes or skiff exits.
func released(dir string, timeout time.Duration) bool {
	f, err := os.OpenFile(filepath.Join(dir, "running"), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return true
	}
	fd := int(f.Fd())
	if unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB) == nil {
		f.Close()
		return true
	}
	done := make(chan struct{})
	go func() {
		for unix.Flock(fd, unix.LOCK_SH) == unix.EINTR {
		}
		f.Close()
		close(done)
	}()
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-done:
		return true
	case <-t.C:
		return false
	}
}

// alive reports whether a process keeps the container in dir, and the pid it recorded.
func alive(dir string) (bool, int) {
	f, err := os.OpenFile(filepath.Join(dir, "running"), os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false, 0
	}
	defer f.Close()
	if unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB) == nil {
		return false, 0
	}
	b := make([]byte, 32)
	n, _ := f.ReadAt(b, 0)
	first, _, _ := strings.Cut(string(b[:n]), "\n")
	pid, _ := strconv.Atoi(strings.TrimSpace(first))
	return true, pid
}

// stale takes the lock of a running file nobody keeps any more; it returns nil when the
// file is gone or kept (or was replaced while we looked).
func stale(dir string) *os.File {
	p := filepath.Join(dir, "running")
	f, err := os.OpenFile(p, os.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		f.Close()
		return nil
	}
	// the keeper removes the file before it unlocks: a file that is still there is stale
	var a, b unix.Stat_t
	if unix.Fstat(int(f.Fd()), &a) != nil || unix.Stat(p, &b) != nil || a.Ino != b.Ino {
		f.Close()
		return nil
	}
	return f
}

// Sweep finishes what killed skiff processes left: half-made and half-removed directories
// go, an --rm container nobody keeps is removed, another is marked exited. It returns the IDs
// of the containers it removed or marked.
func (r *Records) Sweep() []string {
	ents, err := os.ReadDir(r.Dir)
	if err != nil {
		return nil
	}
	var cleaned []string
	var creators *os.File // the lock creators share, once taken exclusively
	defer func() {
		if creators != nil {
			creators.Close()
		}
	}()
	for _, e := range ents {
		name := e.Name()
		dir := filepath.Join(r.Dir, name)
		switch {
		case !e.IsDir() || name == "names":
			continue
		case strings.HasPrefix(name, ".new-"):
			// a creator holds the creators' lock shared until its directory has its name:
			// one found while the lock can be taken exclusively is a dead creator's
			if creators == nil {
				creators, _ = r.flock("lock", unix.LOCK_EX|unix.LOCK_NB)
			}
			if creators != nil {
				os.RemoveAll(dir)
			}
			continue
		case strings.HasPrefix(name, ".rm-"):
			// its remover locks it until it is gone: a free lock is a dead remover's
			if d, err := os.Open(dir); err == nil {
				if unix.Flock(int(d.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
					os.RemoveAll(dir)
				}
				d.Close()
			}
			continue
		}
		f := stale(dir)
		if f == nil {
			continue
		}
		m, _ := readMeta(dir)
		if m.AutoRemove {
			if r.remove(name, m.Name, false) == nil {
				r.removeAnonVolumes(m)
			}
		} else {
			s, _ := readState(dir)
			if s.Status == "running" || s.Status == "created" || s.Status == "" {
				s.Status = "exited"
				s.ExitCode = 137
				s.FinishedAt = time.Now().UTC()
				_ = writeState(dir, s)
			}
			os.Remove(filepath.Join(dir, "running"))
			_ = readCgroup(dir).Remove(0) // its processes died with its keeper
		}
		f.Close()
		cleaned = append(cleaned, name)
	}
	r.sweepCgroups()
	return cleaned
}

func readMeta(dir string) (Meta, error) {
	var m Meta
	b, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return m, err
	}
	return m, json.Unmarshal(b, &m)
}

func readState(dir string) (State, error) {
	s := State{Status: "created"}
	b, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return s, err
	}
	return s, json.Unmarshal(b, &s)
}

func (r *Records) info(id string) (Info, error) {
	dir := r.Path(id)
	m, err := readMeta(dir)
	if err != nil {
		return Info{}, err
	}
	in := Info{ID: id, Meta: m, Names: []string{m.Name}}
	in.State, _ = readState(dir)
	if running, pid := alive(dir); running {
		in.Running = true
		in.State.Status = "running"
		in.State.Pid = pid
		if frozen(freezerPath(dir)) {
			in.State.Status = "paused"
		}
	} else if in.State.Status == "running" || in.State.Status == "" {
		in.State.Status = "exited"
	}
	in.Health = r.Health(in)
	return in, nil
}

// ids lists the containers' IDs (not those being made or removed).
func (r *Records) ids() ([]string, error) {
	ents, err := os.ReadDir(r.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.IsDir() && len(e.Name()) == 64 {
			out = append(out, e.Name())
		}
	}
	return out, nil
}

// List returns the containers, newest first.
func (r *Records) List() ([]Info, error) {
	ids, err := r.ids()
	if err != nil {
		return nil, err
	}
	out := make([]Info, 0, len(ids))
	for _, id := range ids {
		if in, err := r.info(id); err == nil {
			out = append(out, in)
		}
	}
	slices.SortFunc(out, func(a, b Info) int { return b.Meta.Created.Compare(a.Meta.Created) })
	return out, nil
}

// Lookup finds a container by name, full ID or unique ID prefix.
func (r *Records) Lookup(ref string) (Info, error) {
	notFound := &catalog.NotFoundError{Kind: "container", Name: ref, Hint: "see skiff ps -a"}
	if ref == "" || strings.ContainsAny(ref, "/\x00") || ref == "." || ref == ".." {
		return Info{}, notFound
	}
	if id, err := os.Readlink(r.namePath(ref)); err == nil {
		if in, err := r.info(id); err == nil {
			return in, nil
		}
	}
	ids, err := r.ids()
	if err != nil {
		return Info{}, err
	}
	var match string
	for _, id := range ids {
		if strings.HasPrefix(id, ref) {
			if match != "" {
				return Info{}, fmt.Errorf("%q matches more than one container: give more of the ID or the name", ref)
			}
			match = id
		}
	}
	if match == "" {
		return Info{}, notFound
	}
	return r.info(match)
}

// UsingImage returns the containers (made, or being made) whose image is imageID.
func (r *Records) UsingImage(imageID string) []string {
	ents, err := os.ReadDir(r.Dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		name := e.Name()
		if !e.IsDir() || strings.HasPrefix(name, ".rm-") || name == "names" {
			continue
		}
		if m, err := readMeta(filepath.Join(r.Dir, name)); err == nil && m.ImageID == imageID {
			out = append(out, strings.TrimPrefix(name, ".new-"))
		}
	}
	return out
}

// UsedImages returns the IDs of the images containers use.
func (r *Records) UsedImages() map[string]bool {
	used := map[string]bool{}
	ids, _ := r.ids()
	for _, id := range ids {
		if m, err := readMeta(r.Path(id)); err == nil {
			used[m.ImageID] = true
		}
	}
	return used
}

// Remove deletes a container; a running one only with force, after killing it.
func (r *Records) Remove(ref string, force bool) (Info, error) {
	in, err := r.Lookup(ref)
	if err != nil {
		return in, err
	}
	if in.Running {
		if !force {
			return in, fmt.Errorf("container %s is running: stop it first, or use rm -f", ref)
		}
		_ = signalKeeper(r.keeperPid(in), syscall.SIGKILL)
		// the process keeping it lets go of its lock when the container has died
		released(r.Path(in.ID), 5*time.Second)
		// its other processes may take a moment longer to leave its cgroup
		_ = readCgroup(r.Path(in.ID)).Remove(2 * time.Second)
	}
	if err := r.remove(in.ID, in.Meta.Name, true); err != nil {
		return in, err
	}
	removeServiceFiles(in.Meta)
	return in, nil
}

// ValidName checks a container name as docker does: [a-zA-Z0-9][a-zA-Z0-9_.-]*.
func ValidName(name string) error {
	if len(name) > 253 {
		return fmt.Errorf("invalid container name %q: at most 253 characters", name)
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || i > 0 && (r == '_' || r == '.' || r == '-')
		if !ok {
			return fmt.Errorf("invalid container name %q: use letters, digits, '_', '.' and '-', starting with a letter or digit", name)
		}
	}
	return nil
}
