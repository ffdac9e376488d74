package container

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/skiff-project/skiff/pkg/caps"
	"github.com/skiff-project/skiff/pkg/spec"
)

// The plan is what skiff-init executes (see libexec/skiff-init/skiff-init.c): NUL-terminated
// words, an opcode then its arguments, in the order the steps must run.
//
//	skiff-plan-1
//	rootfs   PATH
//	overlay  PATH OPTIONS DIR              mount overlay at PATH (OPTIONS relative to DIR unless "")
//	                                       and use it as the root
//	mount    TYPE DEST ATTRS OPTS          new file system; ATTRS letters r s d x (ro nosuid nodev noexec)
//	bind     SRC DEST RO RECURSIVE KIND OPTIONAL   KIND f or d for the mount point
//	symlink  TARGET LINK
//	copyup   PATH DIR                      copy the root's PATH (when there) into the empty host
//	                                       directory DIR, owners, modes and times kept
//	file     DEST CONTENT                  a file with CONTENT (in a tmpfs of skiff-init's) on DEST
//	mkdir    PATH
//	mask     PATH
//	readonly PATH
//	rootro
//	hostname NAME
//	rlimit   RESOURCE SOFT HARD
//	oomscoreadj N                          the OOM killer's score adjustment (inherited)
//	cwd      PATH
//	user     UID GID N GID...
//	caps     BOUNDING EFFECTIVE PERMITTED INHERITABLE AMBIENT
//	nnp
//	trace                                  per-phase timings on stderr
//	cgroupns                               a new cgroup namespace (rooted at the container's cgroup)
//	netns    PATH                          enter that network namespace (--network container:)
//	loopback                               bring up lo (in a network namespace of its own)
//	tap      ADDR PREFIX GATEWAY MTU       eth0 as a tap device; the network helper's socket
//	                                       comes on the sync socket (after the keeper's files):
//	                                       skiff-init relays frames for the container's life
//	network  HUB BRIDGE PEER ADDR PREFIX GATEWAY
//	                                       eth1 on a user network's bridge in the hub (the
//	                                       network namespace HUB), the bridge at GATEWAY; the
//	                                       hub's lock and the address's lease come on the sync
//	                                       socket, after tap's
//	hold                                   a descriptor comes on the sync socket (last): held for
//	                                       skiff-init's life (slirp4netns ends when it closes)
//	oomfile                                memory.oom_control of the container's cgroup comes on
//	                                       the sync socket (after hold's): oomKilled in the
//	                                       state a detached container's keeper writes
//	nostdin                                the command's stdin is /dev/null
//	seccomp  FD                            the BPF program; -1 (what skiff sends): on the sync socket
//	tty      ROWS COLS
//	execdetach                             (exec -d) outlive skiff, the output discarded
//	join     PID                           (exec) enter the namespaces of the container whose
//	                                       skiff-init is PID, instead of making a root
//	sysctl   KEY VALUE                     write VALUE to /proc/sys/KEY (dots or slashes) in the root
//	logmax   BYTES                         (detached) the log starts over when it would outgrow BYTES
//	logfiles N                             (detached, after detach) the log is rotated instead,
//	                                       N files kept: the container's directory comes on the
//	                                       sync socket after detach's files
//	attach   PIPE                          (detached, after logfiles) serve skiff attach on the
//	                                       listening socket that comes next on the sync socket;
//	                                       PIPE 1: the command's stdin is a pipe kept open (-i)
//	restart  POLICY MAX                    (detached) run the command again when it ends:
//	                                       always, unless-stopped, on-failure (MAX times, 0: no limit)
//	detach   LOGDRIVER STARTED AUTOREMOVE  skiff-init keeps the container after skiff returns: it
//	                                       gets the running lock, state.json and the log file on
//	                                       the sync socket (after the seccomp program), in that
//	                                       order, logs the command's output and writes its state
//	env      KEY=VALUE
//	arg      WORD
//	end
const planVersion = "skiff-plan-1"

type plan struct{ bytes.Buffer }

func (p *plan) op(words ...string) {
	for _, w := range words {
		p.WriteString(w)
		p.WriteByte(0)
	}
}

// devices bound from the host into every container's /dev.
var devices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}

var devLinks = [][2]string{
	{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"},
	{"/proc/self/fd/2", "/dev/stderr"}, {"pts/ptmx", "/dev/ptmx"}, {"/proc/kcore", "/dev/core"},
}

var rlimitNums = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": unix.RLIMIT_LOCKS,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": unix.RLIMIT_MSGQUEUE, "RLIMIT_NICE": unix.RLIMIT_NICE,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": unix.RLIMIT_RTPRIO, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING, "RLIMIT_STACK": unix.RLIMIT_STACK,
}

// planInput is everything the plan is made of besides the spec.
type planInput struct {
	Rootfs string
	// Overlay, when set, is mounted at Rootfs by skiff-init itself, in the container's own
	// mount namespace (OverlayDir: the directory its relative lowerdirs start from, or "").
	Overlay, OverlayDir string
	EtcFiles            map[string]string // container path -> content (hosts, resolv.conf, hostname)
	// CopyUp are the volume directories that get the image's files at their path (when
	// empty) before they are mounted.
	CopyUp map[string]bool
	// NoStdin gives the command /dev/null for stdin (docker without -i).
	NoStdin bool
	// Trace asks skiff-init for per-phase timings on stderr (SKIFF_TRACE).
	Trace bool
	// SeccompSent says a BPF program's descriptor comes on the sync socket.
	SeccompSent bool
	Rows, Cols  int
	// Detach, when set, makes skiff-init the keeper of a detached container.
	Detach *detachPlan
	// ExecDetached lets an exec'd process outlive skiff (exec -d), its output discarded.
	ExecDetached bool
	// NetNS is the network namespace to enter (another container's), or "".
	NetNS string
	// Loopback brings lo up: the container has a network namespace of its own.
	Loopback bool
	// Tap, when set, is eth0, relayed to the network helper whose socket comes last.
	Tap *tapPlan
	// Join, when set, puts the container on a user network (eth1).
	Join *joinPlan
	// OOMFile says the container's memory.oom_control comes on the sync socket, last: a
	// detached container's keeper reads it for the state's oomKilled.
	OOMFile bool
	// CgroupNS makes skiff-init enter a cgroup namespace of its own (it was forked without,
	// to be moved into the container's cgroup first).
	CgroupNS bool
	// Hold says a descriptor comes last on the sync socket for skiff-init to hold for its
	// life: slirp4netns and the port forwarder exit when it closes.
	Hold bool
}

// tapPlan is the container's eth0 (see pkg/network).
type tapPlan struct {
	Addr    string
	Prefix  int
	Gateway string
	MTU     int
}

// joinPlan is the container's eth1 on a user network.
type joinPlan struct {
	Hub, Bridge, Peer, Addr string
	Prefix                  int
	Gateway                 string // the bridge's address, where the hub answers DNS
}

// detachPlan is what skiff-init needs to keep a container skiff has left.
type detachPlan struct {
	LogDriver  string // k8s-file, json-file or none
	Started    string // RFC 3339, for the state it writes at the end
	AutoRemove bool
	Restart    string // no, always, unless-stopped or on-failure
	RestartMax int    // on-failure:N
	LogMax     int64  // --log-opt max-size in bytes; 0: no limit
	LogFiles   int    // --log-opt max-file: the log files kept when it is rotated (> 1)
	Attach     bool   // the keeper serves skiff attach on a socket skiff sends (see listenAttach)
	StdinPipe  bool   // -i without -t: the command's stdin is a pipe the keeper holds open
}

// makePlan encodes s for skiff-init. Mounts go in this order: the spec's default file systems,
// device nodes and /dev links, /etc files, then volumes and tmpfs sorted so parents come first;
// then masked and read-only paths.
func makePlan(s *rspec.Spec, in planInput) ([]byte, error) {
	var p plan
	p.op(planVersion)
	if in.Trace {
		p.op("trace") // first: the phases are timed from skiff-init's start
	}
	if in.CgroupNS {
		p.op("cgroupns") // skiff moved it into its cgroup: that is the namespace's root
	}
	if in.NetNS != "" {
		p.op("netns", in.NetNS) // before /sys, which shows the namespace's devices
	}
	if in.Loopback {
		p.op("loopback")
	}
	if in.Overlay != "" {
		p.op("overlay", in.Rootfs, in.Overlay, in.OverlayDir)
	} else {
		p.op("rootfs", in.Rootfs)
	}

	var user []rspec.Mount
	for i, m := range s.Mounts {
		if i < spec.NumDefaultMounts {
			if err := p.mount(m); err != nil {
				return nil, err
			}
			if m.Destination == "/dev" {
				// devices right after /dev, before /dev/pts and friends
				for _, d := range devices {
					p.op("bind", d, d, "0", "0", "f", "1")
				}
				for _, l := range devLinks {
					p.op("symlink", l[0], l[1])
				}
			}
			continue
		}
		user = append(user, m)
	}
	etc := make([]string, 0, len(in.EtcFiles))
	for k := range in.EtcFiles {
		etc = append(etc, k)
	}
	slices.Sort(etc)
	for _, dst := range etc {
		// a volume on the same path wins
		if slices.ContainsFunc(user, func(m rspec.Mount) bool { return m.Destination == dst }) {
			continue
		}
		p.op("file", dst, in.EtcFiles[dst])
	}
	slices.SortStableFunc(user, func(a, b rspec.Mount) int {
		return strings.Count(a.Destination, "/") - strings.Count(b.Destination, "/")
	})
	for _, m := range user {
		if m.Type == "bind" && in.CopyUp[m.Source] {
			p.op("copyup", m.Destination, m.Source)
		}
		if err := p.mount(m); err != nil {
			return nil, err
		}
	}
	for _, k := range slices.Sorted(maps.Keys(s.Linux.Sysctl)) {
		p.op("sysctl", k, s.Linux.Sysctl[k]) // in the container's /proc, before /proc/sys goes read-only
	}
	for _, m := range s.Linux.MaskedPaths {
		p.op("mask", m)
	}
	for _, r := range s.Linux.ReadonlyPaths {
		p.op("readonly", r)
	}
	// docker creates a missing working directory
	p.op("mkdir", s.Process.Cwd)
	if s.Root.Readonly {
		p.op("rootro")
	}
	if s.Hostname != "" && slices.ContainsFunc(s.Linux.Namespaces, func(n rspec.LinuxNamespace) bool { return n.Type == rspec.UTSNamespace }) {
		p.op("hostname", s.Hostname) // never with --uts host: that name is the host's
	}
	if err := p.process(s.Process, in); err != nil {
		return nil, err
	}
	p.op("end")
	return p.Bytes(), nil
}

// process encodes what the command is started with: directory, user, capabilities, seccomp,
// terminal, environment and arguments (a container's first process, or one exec starts).
func (p *plan) process(proc *rspec.Process, in planInput) error {
	for _, r := range proc.Rlimits {
		n, ok := rlimitNums[r.Type]
		if !ok {
			return fmt.Errorf("unknown rlimit %s", r.Type)
		}
		p.op("rlimit", strconv.Itoa(n), strconv.FormatUint(r.Soft, 10), strconv.FormatUint(r.Hard, 10))
	}
	if proc.OOMScoreAdj != nil {
		p.op("oomscoreadj", strconv.Itoa(*proc.OOMScoreAdj))
	}
	p.op("cwd", proc.Cwd)
	u := proc.User
	words := []string{"user", strconv.FormatUint(uint64(u.UID), 10), strconv.FormatUint(uint64(u.GID), 10), strconv.Itoa(len(u.AdditionalGids))}
	for _, g := range u.AdditionalGids {
		words = append(words, strconv.FormatUint(uint64(g), 10))
	}
	p.op(words...)
	if c := proc.Capabilities; c != nil {
		var masks [5]uint64
		for i, set := range [][]string{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
			m, err := caps.Mask(set)
			if err != nil {
				return err
			}
			masks[i] = m
		}
		p.op("caps", hexNum(masks[0]), hexNum(masks[1]), hexNum(masks[2]), hexNum(masks[3]), hexNum(masks[4]))
	}
	if proc.NoNewPrivileges {
		p.op("nnp")
	}
	if in.SeccompSent {
		p.op("seccomp", "-1")
	}
	if in.NoStdin && !proc.Terminal {
		p.op("nostdin")
	}
	if proc.Terminal {
		p.op("tty", strconv.Itoa(in.Rows), strconv.Itoa(in.Cols))
	}
	if d := in.Detach; d != nil {
		auto := "0"
		if d.AutoRemove {
			auto = "1"
		}
		if d.LogMax > 0 {
			p.op("logmax", strconv.FormatInt(d.LogMax, 10))
		}
		if d.Restart != "" && d.Restart != "no" {
			p.op("restart", d.Restart, strconv.Itoa(d.RestartMax))
		}
		p.op("detach", d.LogDriver, d.Started, auto)
		if d.LogFiles > 1 && d.LogDriver != "none" {
			p.op("logfiles", strconv.Itoa(d.LogFiles))
		}
		if d.Attach {
			pipe := "0"
			if d.StdinPipe {
				pipe = "1"
			}
			p.op("attach", pipe)
		}
	}
	if t := in.Tap; t != nil {
		p.op("tap", t.Addr, strconv.Itoa(t.Prefix), t.Gateway, strconv.Itoa(t.MTU))
	}
	if j := in.Join; j != nil {
		p.op("network", j.Hub, j.Bridge, j.Peer, j.Addr, strconv.Itoa(j.Prefix), j.Gateway)
	}
	if in.Hold {
		p.op("hold")
	}
	if in.OOMFile {
		p.op("oomfile")
	}
	for _, e := range proc.Env {
		p.op("env", e)
	}
	for _, a := range proc.Args {
		p.op("arg", a)
	}
	return nil
}

func hexNum(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

// mount encodes one spec mount.
func (p *plan) mount(m rspec.Mount) error {
	attrs := ""
	var opts []string
	ro, rec := false, false
	for _, o := range m.Options {
		switch o {
		case "ro":
			attrs += "r"
			ro = true
		case "rw":
		case "nosuid":
			attrs += "s"
		case "nodev":
			attrs += "d"
		case "noexec":
			attrs += "x"
		case "rbind":
			rec = true
		case "bind", "strictatime", "relatime", "newinstance", "suid", "dev", "exec", "private", "rprivate":
		default:
			opts = append(opts, o)
		}
	}
	if m.Type == "bind" {
		st, err := os.Stat(m.Source)
		if err != nil {
			return fmt.Errorf("bind mount source %s: %w (create it first)", m.Source, err)
		}
		kind := "d"
		if !st.IsDir() {
			kind = "f"
		}
		p.op("bind", m.Source, m.Destination, b2s(ro), b2s(rec), kind, "0")
		return nil
	}
	if attrs == "" {
		attrs = "-"
	}
	p.op("mount", m.Type, m.Destination, attrs, strings.Join(opts, ","))
	return nil
}

func b2s(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// makeExecPlan encodes a process for skiff-init to start in the running container whose
// skiff-init is keeper (skiff exec).
func makeExecPlan(keeper int, proc *rspec.Process, in planInput) ([]byte, error) {
	var p plan
	p.op(planVersion)
	if in.Trace {
		p.op("trace")
	}
	p.op("join", strconv.Itoa(keeper))
	if in.ExecDetached {
		p.op("execdetach")
	}
	if err := p.process(proc, in); err != nil {
		return nil, err
	}
	p.op("end")
	return p.Bytes(), nil
}
