package network

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Network is one made with `skiff network create`: a bridge in the user's hub (a network
// namespace kept by a skiff-netns process while any container is on a network), to which each
// member is joined by a veth pair as its eth1. Members reach out and publish ports through
// pasta (eth0) as other containers do; on the bridge they reach each other, by address and by
// name: each member's /etc/hosts lists the others, and members already running get a line
// for each new one.
type Network struct {
	Name    string            `json:"name"`
	ID      string            `json:"id"`
	Driver  string            `json:"driver"`
	Subnet  string            `json:"subnet"`
	Gateway string            `json:"gateway"`
	Created time.Time         `json:"created"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// Bridge is the bridge's name in the hub.
func (n Network) Bridge() string { return "sk-" + n.ID[:12] }

// Store holds the networks' records (Dir, in the store) and their run state (RunDir: the hub's
// lock and pid, the address leases).
type Store struct{ Dir, RunDir string }

// Open returns the networks of a store and a run directory.
func Open(graphRoot, runDir string) *Store {
	return &Store{Dir: filepath.Join(graphRoot, "skiff-networks"), RunDir: filepath.Join(runDir, "networks")}
}

// ErrNotFound is a network that does not exist.
var ErrNotFound = errors.New("no such network")

func (s *Store) path(name string) string { return filepath.Join(s.Dir, name+".json") }

// List returns the networks by name.
func (s *Store) List() ([]Network, error) {
	ents, err := os.ReadDir(s.Dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var out []Network
	for _, e := range ents {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || strings.HasPrefix(name, ".") {
			continue
		}
		if n, err := s.read(name); err == nil {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (s *Store) read(name string) (Network, error) {
	var n Network
	b, err := os.ReadFile(s.path(name))
	if err != nil {
		return n, err
	}
	if err := json.Unmarshal(b, &n); err != nil {
		return n, fmt.Errorf("network %s: %w", name, err)
	}
	return n, nil
}

// Get finds a network by name or by a prefix of its ID.
func (s *Store) Get(ref string) (Network, error) {
	if ValidName(ref) == nil {
		if n, err := s.read(ref); err == nil {
			return n, nil
		}
	}
	all, err := s.List()
	if err != nil {
		return Network{}, err
	}
	var found []Network
	for _, n := range all {
		if len(ref) >= 3 && strings.HasPrefix(n.ID, ref) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Network{}, fmt.Errorf("network %s: %w (skiff network ls lists them; skiff network create %s makes it)", ref, ErrNotFound, ref)
	}
	return Network{}, fmt.Errorf("network %s: the ID prefix is ambiguous: give more of it", ref)
}

// Create makes a network; subnet "" takes the first free 10.89.N.0/24.
func (s *Store) Create(name, subnet string, labels map[string]string) (Network, error) {
	if err := ValidName(name); err != nil {
		return Network{}, err
	}
	switch name {
	case "none", "host", "bridge", "default", "pasta", "private", "slirp4netns":
		return Network{}, fmt.Errorf("network name %s is taken by a built-in mode: choose another", name)
	}
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return Network{}, err
	}
	unlock, err := lockFile(filepath.Join(s.Dir, ".lock"), unix.LOCK_EX)
	if err != nil {
		return Network{}, err
	}
	defer unlock()
	if _, err := os.Stat(s.path(name)); err == nil {
		return Network{}, fmt.Errorf("network %s already exists: choose another name, or skiff network rm %s", name, name)
	}
	all, err := s.List()
	if err != nil {
		return Network{}, err
	}
	var p netip.Prefix
	if subnet != "" {
		if p, err = netip.ParsePrefix(subnet); err != nil || !p.Addr().Is4() || p.Bits() < 8 || p.Bits() > 29 {
			return Network{}, fmt.Errorf("invalid --subnet %q: use an IPv4 network such as 10.90.0.0/24 (a prefix of 8 to 29 bits)", subnet)
		}
		p = p.Masked()
		for _, n := range all {
			if q, err := netip.ParsePrefix(n.Subnet); err == nil && q.Overlaps(p) {
				return Network{}, fmt.Errorf("--subnet %s overlaps network %s's %s: choose another", p, n.Name, n.Subnet)
			}
		}
	} else {
		for i := 0; i < 256 && !p.IsValid(); i++ {
			q := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 89, byte(i), 0}), 24)
			free := true
			for _, n := range all {
				if r, err := netip.ParsePrefix(n.Subnet); err == nil && r.Overlaps(q) {
					free = false
				}
			}
			if free {
				p = q
			}
		}
		if !p.IsValid() {
			return Network{}, errors.New("no free subnet in 10.89.0.0/16: remove a network or give --subnet")
		}
	}
	var id [32]byte
	if _, err := unix.Getrandom(id[:], 0); err != nil {
		return Network{}, err
	}
	n := Network{Name: name, ID: hex.EncodeToString(id[:]), Driver: "bridge", Subnet: p.String(),
		Gateway: p.Addr().Next().String(), Created: time.Now().UTC().Truncate(time.Second), Labels: labels}
	b, err := json.MarshalIndent(n, "", "  ")
	if err != nil {
		return Network{}, err
	}
	tmp := filepath.Join(s.Dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return Network{}, err
	}
	return n, os.Rename(tmp, s.path(name))
}

// Remove deletes a network that no running container is on.
func (s *Store) Remove(ref string) (Network, error) {
	n, err := s.Get(ref)
	if err != nil {
		return n, err
	}
	if m := s.Members(n); len(m) > 0 {
		var names []string
		for _, l := range m {
			names = append(names, l.Name)
		}
		return n, fmt.Errorf("network %s has running containers (%s): remove them first, or use -f", n.Name, strings.Join(names, ", "))
	}
	if err := os.Remove(s.path(n.Name)); err != nil {
		return n, err
	}
	_ = os.RemoveAll(filepath.Join(s.RunDir, n.ID))
	return n, nil
}

// Lease is a running member's address on a network (a file, locked by its skiff-init for the
// container's life: a dead container's lease is free again).
type Lease struct {
	Addr    string   `json:"addr"`
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Aliases []string `json:"aliases,omitempty"`
	Pid     int      `json:"pid"` // skiff-init's
}

// Members are the running containers on n.
func (s *Store) Members(n Network) []Lease {
	dir := filepath.Join(s.RunDir, n.ID)
	ents, _ := os.ReadDir(dir)
	var out []Lease
	for _, e := range ents {
		f, err := os.OpenFile(filepath.Join(dir, e.Name()), os.O_RDWR, 0)
		if err != nil {
			continue
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) == nil {
			f.Close() // free: its container is gone
			continue
		}
		var l Lease
		b, _ := os.ReadFile(f.Name())
		f.Close()
		if json.Unmarshal(b, &l) == nil && l.ID != "" {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Membership is a container's place on a network while run sets it up.
type Membership struct {
	Network Network
	Hub     string // the hub's network namespace, /proc/PID/ns/net
	Peer    string // the veth's end on the bridge
	Addr    netip.Prefix
	Lease   Lease
	// Files are the hub's lock (shared) and the lease (exclusive): skiff-init holds them for the
	// container's life.
	Files []*os.File
	lease *os.File
}

// Close lets go of skiff's copies of the files (skiff-init has its own by then).
func (m *Membership) Close() {
	for _, f := range m.Files {
		f.Close()
	}
	m.Files = nil
}

// Join leases an address on n for container id (named name, with aliases) and makes sure the
// hub runs (keeper: skiff-init's path, which runs as skiff-netns).
func (s *Store) Join(n Network, keeper, id, name string, aliases []string) (*Membership, error) {
	m := &Membership{Network: n, Peer: "v" + id[:14]}
	hub, lock, err := s.hub(keeper)
	if err != nil {
		return nil, err
	}
	m.Hub, m.Files = hub, []*os.File{lock}
	p, err := netip.ParsePrefix(n.Subnet)
	if err != nil {
		m.Close()
		return nil, fmt.Errorf("network %s: bad subnet %q", n.Name, n.Subnet)
	}
	dir := filepath.Join(s.RunDir, n.ID)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		m.Close()
		return nil, err
	}
	// .1 is the gateway docker's inspect shows; members take .2 on
	for a := p.Addr().Next().Next(); p.Contains(a) && p.Contains(a.Next()); a = a.Next() {
		f, err := os.OpenFile(filepath.Join(dir, a.String()), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
		if err != nil {
			m.Close()
			return nil, err
		}
		if unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
			f.Close()
			continue
		}
		m.Addr = netip.PrefixFrom(a, p.Bits())
		m.Lease = Lease{Addr: a.String(), ID: id, Name: name, Aliases: aliases}
		m.Files, m.lease = append(m.Files, f), f
		return m, m.writeLease()
	}
	m.Close()
	return nil, fmt.Errorf("network %s is full: every address of %s is taken", n.Name, n.Subnet)
}

func (m *Membership) writeLease() error {
	b, _ := json.Marshal(m.Lease)
	if err := m.lease.Truncate(0); err != nil {
		return err
	}
	_, err := m.lease.WriteAt(b, 0)
	return err
}

// Started records skiff-init's pid in the lease, for inspect and network inspect. The other
// members find the new one by name from then on: the hub's DNS reads the leases.
func (m *Membership) Started(pid int) error {
	m.Lease.Pid = pid
	return m.writeLease()
}

// hub returns the network namespace of the user's networks, starting its keeper when none
// runs, and the hub's lock file held shared (the keeper goes when nobody holds it).
func (s *Store) hub(keeper string) (string, *os.File, error) {
	if err := os.MkdirAll(s.RunDir, 0o700); err != nil {
		return "", nil, err
	}
	lockPath, pidPath := filepath.Join(s.RunDir, "hub.lock"), filepath.Join(s.RunDir, "hub.pid")
	lock, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return "", nil, err
	}
	// shared: this waits while a keeper that found no member is going away
	if err := flockRetry(lock, unix.LOCK_SH); err != nil {
		lock.Close()
		return "", nil, err
	}
	unlock, err := lockFile(filepath.Join(s.RunDir, "hub.start"), unix.LOCK_EX)
	if err != nil {
		lock.Close()
		return "", nil, err
	}
	defer unlock()
	if pid := keeperPid(pidPath); pid > 0 {
		return fmt.Sprintf("/proc/%d/ns/net", pid), lock, nil
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		lock.Close()
		return "", nil, err
	}
	defer null.Close()
	pid, err := syscall.ForkExec(keeper, []string{"skiff-netns", lockPath, pidPath}, &syscall.ProcAttr{
		Files: []uintptr{null.Fd(), null.Fd(), null.Fd()},
		Sys:   &syscall.SysProcAttr{Cloneflags: unix.CLONE_NEWNET, Setsid: true},
	})
	if err != nil {
		lock.Close()
		return "", nil, fmt.Errorf("start the keeper of the user's networks: %w", err)
	}
	tmp := pidPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)+"\n"), 0o600); err != nil || os.Rename(tmp, pidPath) != nil {
		syscall.Kill(pid, syscall.SIGKILL)
		lock.Close()
		return "", nil, fmt.Errorf("record the keeper of the user's networks: %v", err)
	}
	// its parent is gone by the time it exits: whoever adopts it reaps it
	return fmt.Sprintf("/proc/%d/ns/net", pid), lock, nil
}

// keeperPid is the live skiff-netns of pidPath, or 0.
func keeperPid(pidPath string) int {
	b, err := os.ReadFile(pidPath)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return 0
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(stat), ')')
	if !strings.Contains(string(stat), "(skiff-netns)") || i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X' {
		return 0
	}
	return pid
}

func flockRetry(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how)
		if err != unix.EINTR {
			return err
		}
	}
}

func lockFile(path string, how int) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	if err := flockRetry(f, how); err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
