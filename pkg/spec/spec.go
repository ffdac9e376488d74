// Package spec turns an image's configuration and `skiff run` options into one OCI runtime
// specification. It is pure: no syscalls, no store; what it needs from the container's files
// (users and groups) comes through the Files interface, so everything here is unit-testable.
package spec

import (
	"bufio"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-project/skiff/pkg/caps"
	"github.com/skiff-project/skiff/pkg/image"
	"github.com/skiff-project/skiff/pkg/seccomp"
)

// DefaultPath is the PATH a container gets when its image sets none (docker's).
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Options are the `skiff run` flags that shape a container.
type Options struct {
	Name        string
	Hostname    string
	Workdir     string
	User        string
	Entrypoint  *string // nil: the image's; "": none
	Cmd         []string
	Env         []string // KEY=VALUE or KEY (taken from HostEnv)
	EnvFiles    []string
	Interactive bool
	TTY         bool
	ReadOnly    bool
	Privileged  bool
	Volumes     []string // HOST:CTR[:ro|rw,...]
	Tmpfs       []string // CTR[:opts]
	Network     string   // see network.ParseMode: "" (pasta), none, host, container:NAME, a network
	CapAdd      []string
	CapDrop     []string
	SecurityOpt []string
	Ulimits     []string // name=soft[:hard]
	Devices     []string // --device HOST[:CTR][:PERMISSIONS]
	UTS         string   `json:",omitempty"` // --uts: "" (its own) or host
	IPC         string   `json:",omitempty"` // --ipc: "", private or shareable (its own), or host
	ShmSize     int64    `json:",omitempty"` // --shm-size in bytes; 0: docker's 64 MiB
	GroupAdd    []string `json:",omitempty"` // --group-add: more groups (names in the image's /etc/group, or gids)
	Sysctl      []string `json:",omitempty"` // --sysctl KEY=VALUE: namespaced kernel settings
	// OOMScoreAdj is --oom-score-adj (nil: the caller's).
	OOMScoreAdj *int `json:",omitempty"`
	// HostEnv looks up the caller's environment for -e KEY (os.LookupEnv in the CLI).
	HostEnv func(string) (string, bool) `json:"-"`
	// HostHostname is the host's name, used with --network host.
	HostHostname string
	// DeferDefaultSeccomp leaves docker's default seccomp profile out of the spec and marks it
	// with the DefaultSeccompAnnotation instead: the caller that has the program compiled and
	// cached already need not build the profile (pkg/container).
	DeferDefaultSeccomp bool
}

// DefaultSeccompAnnotation marks a spec whose seccomp profile is docker's default for its
// bounding capabilities, left for the caller to make (Options.DeferDefaultSeccomp).
const DefaultSeccompAnnotation = "org.skiff.seccomp"

// Files reads the container's own /etc/passwd and /etc/group (nil when absent).
type Files interface {
	ReadFile(name string) ([]byte, error)
}

// Error is a bad option; its message names the option and the fix.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errorf(format string, a ...any) error { return &Error{fmt.Sprintf(format, a...)} }

// Docker's masked and read-only paths.
var (
	MaskedPaths = []string{
		"/proc/asound", "/proc/acpi", "/proc/interrupts", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
		"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware",
		"/sys/devices/virtual/powercap",
	}
	ReadonlyPaths = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}
)

// Build makes the runtime spec of container id (its hostname defaults to the first 12 chars).
func Build(img image.ImageConfig, o Options, id string, files Files) (*rspec.Spec, error) {
	s := &rspec.Spec{
		Version:  rspec.Version,
		Root:     &rspec.Root{Path: "rootfs", Readonly: o.ReadOnly},
		Process:  &rspec.Process{Terminal: o.TTY, Cwd: "/"},
		Hostname: o.Hostname,
		Linux:    &rspec.Linux{},
	}

	// command: docker's ENTRYPOINT/CMD rules
	entry := img.Entrypoint
	cmd := img.Cmd
	if o.Entrypoint != nil {
		entry = nil
		if *o.Entrypoint != "" {
			entry = []string{*o.Entrypoint}
		}
		cmd = nil // docker: --entrypoint resets the image's CMD
	}
	if len(o.Cmd) > 0 {
		cmd = o.Cmd
	}
	s.Process.Args = append(slices.Clone(entry), cmd...)
	if len(s.Process.Args) == 0 {
		return nil, errorf("no command given and the image sets no CMD or ENTRYPOINT: give a command after the image name")
	}

	// working directory
	s.Process.Cwd = img.WorkingDir
	if o.Workdir != "" {
		s.Process.Cwd = o.Workdir
	}
	if s.Process.Cwd == "" {
		s.Process.Cwd = "/"
	}
	if !path.IsAbs(s.Process.Cwd) {
		return nil, errorf("working directory %q is not absolute: give a path starting with /", s.Process.Cwd)
	}

	// hostname
	switch o.UTS {
	case "", "private":
	case "host":
		if o.Hostname != "" {
			return nil, errorf("--hostname and --uts host conflict: with the host's UTS namespace the container has the host's name")
		}
	default:
		return nil, errorf("invalid --uts %q: use host (or leave it out for the container's own)", o.UTS)
	}
	switch {
	case o.UTS == "host":
		s.Hostname = o.HostHostname
	case o.Hostname != "":
		if len(o.Hostname) > 64 || strings.ContainsAny(o.Hostname, " /\t") {
			return nil, errorf("invalid --hostname %q: use at most 64 letters, digits, '-' and '.'", o.Hostname)
		}
	case o.Network == "host" && o.HostHostname != "":
		s.Hostname = o.HostHostname
	default:
		s.Hostname = id
		if len(s.Hostname) > 12 {
			s.Hostname = s.Hostname[:12]
		}
	}

	// user
	user := img.User
	if o.User != "" {
		user = o.User
	}
	u, err := ResolveUser(user, files)
	if err != nil {
		return nil, err
	}
	s.Process.User = u.User
	for _, g := range o.GroupAdd {
		gid, err := ResolveGroup(g, files)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(s.Process.User.AdditionalGids, gid) {
			s.Process.User.AdditionalGids = append(s.Process.User.AdditionalGids, gid)
		}
	}

	// environment: image, then defaults, then -e / --env-file
	env := slices.Clone(img.Env)
	if !hasKey(env, "PATH") {
		env = append(env, "PATH="+DefaultPath)
	}
	env = SetEnv(env, "HOSTNAME", s.Hostname)
	env = SetEnv(env, "container", "skiff")
	if !hasKey(env, "HOME") {
		env = append(env, "HOME="+u.Home)
	}
	if o.TTY && !hasKey(env, "TERM") {
		env = append(env, "TERM=xterm")
	}
	for _, f := range o.EnvFiles {
		lines, err := readEnvFile(f)
		if err != nil {
			return nil, err
		}
		for _, kv := range lines {
			if env, err = AddEnv(env, kv, o.HostEnv); err != nil {
				return nil, err
			}
		}
	}
	for _, kv := range o.Env {
		if env, err = AddEnv(env, kv, o.HostEnv); err != nil {
			return nil, err
		}
	}
	s.Process.Env = env

	// namespaces
	s.Linux.Namespaces = []rspec.LinuxNamespace{{Type: rspec.PIDNamespace}, {Type: rspec.MountNamespace}, {Type: rspec.CgroupNamespace}}
	if o.UTS != "host" {
		s.Linux.Namespaces = append(s.Linux.Namespaces, rspec.LinuxNamespace{Type: rspec.UTSNamespace})
	}
	switch o.IPC {
	case "", "private", "shareable":
		s.Linux.Namespaces = append(s.Linux.Namespaces, rspec.LinuxNamespace{Type: rspec.IPCNamespace})
	case "host":
	default:
		return nil, errorf("invalid --ipc %q: use private, shareable or host", o.IPC)
	}
	// the network namespace: the host's, another container's (entered by skiff-init), or one
	// of its own (pkg/network checks the mode and makes the rest)
	switch {
	case o.Network == "host", strings.HasPrefix(o.Network, "container:"):
	default:
		s.Linux.Namespaces = append(s.Linux.Namespaces, rspec.LinuxNamespace{Type: rspec.NetworkNamespace})
	}

	// security: capabilities, seccomp, no_new_privs
	seccompMode := "default"
	for _, so := range o.SecurityOpt {
		k, v, _ := strings.Cut(so, "=")
		if strings.Contains(so, ":") && !strings.Contains(so, "=") {
			k, v, _ = strings.Cut(so, ":") // old docker spelling seccomp:unconfined
		}
		switch k {
		case "seccomp":
			if v == "" {
				return nil, errorf("--security-opt seccomp needs a value: seccomp=unconfined or seccomp=PROFILE.json")
			}
			seccompMode = v
		case "no-new-privileges":
			switch v {
			case "", "true":
				s.Process.NoNewPrivileges = true
			case "false":
				s.Process.NoNewPrivileges = false
			default:
				return nil, errorf("invalid --security-opt %q: use no-new-privileges or no-new-privileges=false", so)
			}
		case "label", "apparmor":
			// SELinux and AppArmor are not used by skiff; accepted for compatibility.
		default:
			return nil, errorf("unknown --security-opt %q: supported are seccomp=unconfined|PROFILE.json and no-new-privileges", so)
		}
	}
	capList, err := caps.Resolve(o.CapAdd, o.CapDrop, o.Privileged)
	if err != nil {
		return nil, &Error{err.Error()}
	}
	s.Process.Capabilities = &rspec.LinuxCapabilities{Bounding: capList, Effective: capList, Permitted: capList}
	if u.User.UID == 0 {
		s.Process.Capabilities.Inheritable = nil
	}
	if o.Privileged {
		seccompMode = "unconfined"
	}
	switch seccompMode {
	case "unconfined":
	case "default":
		if o.DeferDefaultSeccomp {
			if s.Annotations == nil {
				s.Annotations = map[string]string{}
			}
			s.Annotations[DefaultSeccompAnnotation] = "default"
		} else if s.Linux.Seccomp, err = seccomp.Default(capList); err != nil {
			return nil, err
		}
	default:
		if !filepath.IsAbs(seccompMode) {
			return nil, errorf("seccomp profile %q: give an absolute path to a JSON profile, or unconfined", seccompMode)
		}
		if s.Linux.Seccomp, err = seccomp.LoadFile(seccompMode, capList); err != nil {
			return nil, &Error{err.Error()}
		}
	}
	if !o.Privileged {
		s.Linux.MaskedPaths = slices.Clone(MaskedPaths)
		s.Linux.ReadonlyPaths = slices.Clone(ReadonlyPaths)
	}

	if o.OOMScoreAdj != nil {
		if n := *o.OOMScoreAdj; n < -1000 || n > 1000 {
			return nil, errorf("invalid --oom-score-adj %d: use a number from -1000 to 1000", n)
		}
		s.Process.OOMScoreAdj = o.OOMScoreAdj
	}

	// rlimits
	for _, ul := range o.Ulimits {
		r, err := ParseUlimit(ul)
		if err != nil {
			return nil, err
		}
		s.Process.Rlimits = append(s.Process.Rlimits, r)
	}

	// mounts
	if err := sysctls(s, o); err != nil {
		return nil, err
	}
	s.Mounts = DefaultMounts(o.Network != "host")
	if o.ShmSize < 0 {
		return nil, errorf("invalid --shm-size: give a size above 0, such as 64m")
	}
	if o.IPC == "host" {
		if o.ShmSize > 0 {
			return nil, errorf("--shm-size and --ipc host conflict: the host's /dev/shm keeps its size")
		}
		// the host's IPC namespace: its /dev/shm and message queues, bound (docker's --ipc host)
		s.Mounts[3] = rspec.Mount{Destination: "/dev/shm", Type: "bind", Source: "/dev/shm", Options: []string{"rbind", "nosuid", "noexec", "nodev"}}
		if _, err := os.Stat("/dev/mqueue"); err == nil {
			s.Mounts[4] = rspec.Mount{Destination: "/dev/mqueue", Type: "bind", Source: "/dev/mqueue", Options: []string{"rbind", "nosuid", "noexec", "nodev"}}
		} else {
			// the host mounts no mqueue to share, and a new one needs the IPC namespace's owner
			s.Mounts[4] = rspec.Mount{Destination: "/dev/mqueue", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=4k"}}
		}
	} else if o.ShmSize > 0 {
		s.Mounts[3].Options = []string{"nosuid", "noexec", "nodev", "mode=1777", "size=" + strconv.FormatInt(o.ShmSize, 10)}
	}
	for _, v := range o.Volumes {
		m, err := ParseVolume(v)
		if err != nil {
			return nil, err
		}
		s.Mounts = append(s.Mounts, m)
	}
	for _, t := range o.Tmpfs {
		m, err := ParseTmpfs(t)
		if err != nil {
			return nil, err
		}
		s.Mounts = append(s.Mounts, m)
	}
	if err := devices(s, o.Devices); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, m := range s.Mounts[NumDefaultMounts:] {
		if seen[m.Destination] {
			return nil, errorf("two mounts at %s: give each destination once", m.Destination)
		}
		seen[m.Destination] = true
	}
	return s, nil
}

// NumDefaultMounts is how many mounts of a built spec are DefaultMounts (they come first).
const NumDefaultMounts = 6

// DefaultMounts are the file systems every container gets.
func DefaultMounts(ownNet bool) []rspec.Mount {
	sys := rspec.Mount{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}}
	if !ownNet {
		// sysfs can only be mounted by the owner of the network namespace: bind the host's.
		sys = rspec.Mount{Destination: "/sys", Type: "bind", Source: "/sys", Options: []string{"rbind", "nosuid", "noexec", "nodev", "ro"}}
	}
	return []rspec.Mount{
		{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid", "noexec", "nodev"}},
		{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
		{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"}},
		{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
		{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
		sys,
	}
}

// ParseVolume parses -v HOST:CTR[:OPTS] for bind mounts (OPTS: ro, rw, z, Z, and propagation
// flags, which are accepted and ignored).
func ParseVolume(v string) (rspec.Mount, error) {
	parts := strings.Split(v, ":")
	if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
		if len(parts) == 1 && path.IsAbs(v) {
			return rspec.Mount{}, errorf("-v %s: anonymous volumes are not supported yet: give HOST:%s", v, v)
		}
		return rspec.Mount{}, errorf("invalid -v %q: use HOST-DIR:CONTAINER-DIR[:ro]", v)
	}
	src, dst := parts[0], parts[1]
	if !path.IsAbs(src) {
		return rspec.Mount{}, errorf("-v %s: %q is neither an absolute host path nor a volume name: give a path starting with / or a NAME", v, src)
	}
	if !path.IsAbs(dst) {
		return rspec.Mount{}, errorf("-v %s: container path %q is not absolute", v, dst)
	}
	opts := []string{"rbind"}
	if len(parts) == 3 {
		for _, o := range strings.Split(parts[2], ",") {
			switch o {
			case "ro", "rw":
				opts = append(opts, o)
			case "z", "Z", "private", "rprivate", "shared", "rshared", "slave", "rslave", "nocopy", "copy", "U", "":
			default:
				return rspec.Mount{}, errorf("-v %s: unknown option %q: use ro or rw", v, o)
			}
		}
	}
	return rspec.Mount{Destination: path.Clean(dst), Type: "bind", Source: path.Clean(src), Options: opts}, nil
}

// ParseTmpfs parses --tmpfs CTR[:OPTS] (docker's defaults: noexec, nosuid, nodev).
func ParseTmpfs(t string) (rspec.Mount, error) {
	dst, opts, _ := strings.Cut(t, ":")
	if !path.IsAbs(dst) {
		return rspec.Mount{}, errorf("--tmpfs %q: the container path must be absolute", t)
	}
	o := []string{"nosuid", "nodev", "noexec", "mode=1777"}
	if opts != "" {
		o = []string{"nosuid", "nodev"}
		for _, x := range strings.Split(opts, ",") {
			k, _, _ := strings.Cut(x, "=")
			switch k {
			case "size", "mode", "uid", "gid", "nr_inodes", "ro", "rw", "exec", "noexec", "suid", "nosuid", "dev", "nodev":
				o = append(o, x)
			default:
				return rspec.Mount{}, errorf("--tmpfs %q: unknown option %q", t, x)
			}
		}
	}
	return rspec.Mount{Destination: path.Clean(dst), Type: "tmpfs", Source: "tmpfs", Options: o}, nil
}

var rlimits = map[string]string{
	"as": "RLIMIT_AS", "core": "RLIMIT_CORE", "cpu": "RLIMIT_CPU", "data": "RLIMIT_DATA", "fsize": "RLIMIT_FSIZE",
	"locks": "RLIMIT_LOCKS", "memlock": "RLIMIT_MEMLOCK", "msgqueue": "RLIMIT_MSGQUEUE", "nice": "RLIMIT_NICE",
	"nofile": "RLIMIT_NOFILE", "nproc": "RLIMIT_NPROC", "rss": "RLIMIT_RSS", "rtprio": "RLIMIT_RTPRIO",
	"rttime": "RLIMIT_RTTIME", "sigpending": "RLIMIT_SIGPENDING", "stack": "RLIMIT_STACK",
}

// ParseUlimit parses --ulimit NAME=SOFT[:HARD] (-1 or unlimited for no limit).
func ParseUlimit(s string) (rspec.POSIXRlimit, error) {
	name, val, ok := strings.Cut(s, "=")
	typ := rlimits[name]
	if !ok || typ == "" {
		names := make([]string, 0, len(rlimits))
		for k := range rlimits {
			names = append(names, k)
		}
		slices.Sort(names)
		return rspec.POSIXRlimit{}, errorf("invalid --ulimit %q: use NAME=SOFT[:HARD] with NAME one of %s", s, strings.Join(names, ", "))
	}
	softS, hardS, hasHard := strings.Cut(val, ":")
	if !hasHard {
		hardS = softS
	}
	parse := func(x string) (uint64, error) {
		if x == "-1" || x == "unlimited" {
			return ^uint64(0), nil
		}
		return strconv.ParseUint(x, 10, 64)
	}
	soft, err1 := parse(softS)
	hard, err2 := parse(hardS)
	if err1 != nil || err2 != nil {
		return rspec.POSIXRlimit{}, errorf("invalid --ulimit %q: limits must be numbers, -1 or unlimited", s)
	}
	if soft > hard {
		return rspec.POSIXRlimit{}, errorf("invalid --ulimit %q: the soft limit is above the hard limit", s)
	}
	return rspec.POSIXRlimit{Type: typ, Soft: soft, Hard: hard}, nil
}

func hasKey(env []string, key string) bool {
	for _, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			return true
		}
	}
	return false
}

// SetEnv sets KEY=value in env, in the place of an earlier KEY.
func SetEnv(env []string, key, value string) []string {
	for i, e := range env {
		if k, _, _ := strings.Cut(e, "="); k == key {
			env[i] = key + "=" + value
			return env
		}
	}
	return append(env, key+"="+value)
}

// AddEnv adds KEY=VALUE, or KEY with the caller's value (skipped when unset, as docker does).
func AddEnv(env []string, kv string, host func(string) (string, bool)) ([]string, error) {
	k, v, ok := strings.Cut(kv, "=")
	if k == "" || strings.ContainsAny(k, " \t\n") {
		return nil, errorf("invalid environment variable %q: use KEY=VALUE", kv)
	}
	if !ok {
		if host == nil {
			return env, nil
		}
		if v, ok = host(k); !ok {
			return env, nil
		}
	}
	return SetEnv(env, k, v), nil
}

func readEnvFile(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, errorf("--env-file %s: %v", name, err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if k, _, _ := strings.Cut(line, "="); k == "" || strings.ContainsAny(k, " \t") {
			return nil, errorf("--env-file %s line %d: %q is not KEY=VALUE", name, n, line)
		}
		out = append(out, line)
	}
	return out, sc.Err()
}

// ipcSysctls are the kernel settings of an IPC namespace (docker's list); fs.mqueue.* is too.
var ipcSysctls = []string{"kernel.msgmax", "kernel.msgmnb", "kernel.msgmni", "kernel.sem", "kernel.shmall",
	"kernel.shmmax", "kernel.shmmni", "kernel.shm_rmid_forced"}

// sysctls checks --sysctl KEY=VALUE as docker does: only what a namespace of the container's
// own holds (its network's net.*, its IPC's), and puts them in the spec.
func sysctls(s *rspec.Spec, o Options) error {
	for _, kv := range o.Sysctl {
		k, v, ok := strings.Cut(kv, "=")
		k = strings.ReplaceAll(strings.TrimSpace(k), "/", ".")
		if !ok || k == "" || strings.Contains(k, "..") || strings.ContainsAny(v, "\n") {
			return errorf("invalid --sysctl %q: use KEY=VALUE, such as net.ipv4.ip_unprivileged_port_start=80", kv)
		}
		switch {
		case strings.HasPrefix(k, "net."):
			if o.Network == "host" || strings.HasPrefix(o.Network, "container:") {
				return errorf("--sysctl %s: with --network %s the network namespace is not the container's own: leave it out", k, o.Network)
			}
		case slices.Contains(ipcSysctls, k) || strings.HasPrefix(k, "fs.mqueue."):
			if o.IPC == "host" {
				return errorf("--sysctl %s: with --ipc host the IPC namespace is the host's: leave it out", k)
			}
		default:
			return errorf("--sysctl %s is not allowed: only namespaced ones can be set in a container (net.*, fs.mqueue.*, kernel.shm*, kernel.msg*, kernel.sem)", k)
		}
		if s.Linux.Sysctl == nil {
			s.Linux.Sysctl = map[string]string{}
		}
		s.Linux.Sysctl[k] = v
	}
	return nil
}
