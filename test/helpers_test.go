package integration

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// stdPath is the PATH every skiff invocation gets.
const stdPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// cmdTimeout bounds every single command, so a hang fails the test instead of blocking it.
const cmdTimeout = 30 * time.Second

// anyNonZero as a wanted exit code accepts every non-zero exit (but not a death by signal).
const anyNonZero = -100

// mode is one way of running skiff: as the unprivileged user with a subuid range (rootless), as
// root (root), or as an unprivileged user without any subuid range (nosub).
type mode struct {
	name       string
	user       string // user name ("" for the current user when the tests do not run as root)
	uid, gid   int
	home       string
	root       bool // skiff runs as uid 0
	switchUser bool // the test process is root and switches to user with setpriv
	cleanEnv   bool // give skiff a minimal environment

	setupErr    error    // set when TestMain could not import the test image for this mode
	setupStderr []string // stderr of every setup command (warnings about id mapping show here)
}

func (m *mode) storeDir() string {
	if m.root {
		return "/var/lib/skiff/storage"
	}
	return filepath.Join(m.home, ".local", "share", "skiff", "storage")
}

// argv wraps argv so that it runs as the mode's user with a clean environment. setpriv and env
// both exec, so the process started keeps its pid: signalling it signals skiff itself.
func (m *mode) argv(argv ...string) []string {
	if m.switchUser {
		pre := []string{"setpriv", "--reuid=" + strconv.Itoa(m.uid), "--regid=" + strconv.Itoa(m.gid), "--init-groups", "--",
			"env", "-i", "HOME=" + m.home, "PATH=" + stdPath, "USER=" + m.user, "LOGNAME=" + m.user}
		return append(pre, argv...)
	}
	if m.cleanEnv {
		pre := []string{"env", "-i", "HOME=" + m.home, "PATH=" + stdPath, "USER=" + m.user, "LOGNAME=" + m.user}
		return append(pre, argv...)
	}
	return argv
}

type result struct {
	argv     []string
	stdout   string
	stderr   string
	code     int // exit code; -1 when killed by a signal
	signal   syscall.Signal
	timedOut bool
	err      error
}

func (r result) String() string {
	s := fmt.Sprintf("%q: exit %d", r.argv, r.code)
	if r.signal != 0 {
		s += fmt.Sprintf(" (killed by signal %d)", r.signal)
	}
	if r.timedOut {
		s += " (TIMED OUT, killed)"
	}
	if r.err != nil {
		s += fmt.Sprintf(" (error %v)", r.err)
	}
	return s + fmt.Sprintf("\n  stdout: %q\n  stderr: %q", clip(r.stdout), clip(r.stderr))
}

func clip(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "...(clipped)"
	}
	return s
}

type opts struct {
	stdin   io.Reader
	timeout time.Duration
	// holdStdin gives the command a pipe as stdin that stays open (never EOF) until it ends
	holdStdin bool
}

// newCmd builds a command in its own process group, so that a timeout can kill all of it.
func newCmd(argv []string, o opts) *exec.Cmd {
	c := exec.Command(argv[0], argv[1:]...)
	c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	c.Stdin = o.stdin
	c.WaitDelay = 5 * time.Second
	c.Dir = "/"
	return c
}

// execArgv runs argv (already wrapped) to completion, with a timeout.
func execArgv(argv []string, o opts) result {
	if o.timeout == 0 {
		o.timeout = cmdTimeout
	}
	c := newCmd(argv, o)
	var out, errb bytes.Buffer
	c.Stdout, c.Stderr = &out, &errb
	r := result{argv: argv}
	if o.holdStdin {
		pr, pw, err := os.Pipe()
		if err != nil {
			r.err, r.code = err, -1
			return r
		}
		defer pw.Close()
		defer pr.Close()
		c.Stdin = pr
	}
	if err := c.Start(); err != nil {
		r.err, r.code = err, -1
		return r
	}
	var mu sync.Mutex
	timer := time.AfterFunc(o.timeout, func() {
		mu.Lock()
		r.timedOut = true
		mu.Unlock()
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		syscall.Kill(c.Process.Pid, syscall.SIGKILL)
	})
	err := c.Wait()
	timer.Stop()
	mu.Lock()
	defer mu.Unlock()
	r.stdout, r.stderr = out.String(), errb.String()
	r.code = c.ProcessState.ExitCode()
	if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		r.signal = ws.Signal()
	}
	if err != nil {
		if _, ok := err.(*exec.ExitError); !ok {
			r.err = err
		}
	}
	return r
}

// exec runs any argv as the mode's user.
func (m *mode) exec(o opts, argv ...string) result { return execArgv(m.argv(argv...), o) }

// skiff runs skiff with args as the mode's user.
func (m *mode) skiff(args ...string) result {
	return m.exec(opts{}, append([]string{skiffBin}, args...)...)
}

func (m *mode) skiffIn(stdin string, args ...string) result {
	return m.exec(opts{stdin: strings.NewReader(stdin)}, append([]string{skiffBin}, args...)...)
}

// mustSkiff runs skiff and fails the test unless it exits 0.
func (m *mode) mustSkiff(t testing.TB, args ...string) result {
	t.Helper()
	r := m.skiff(args...)
	if r.code != 0 || r.signal != 0 || r.timedOut {
		t.Fatalf("[%s] command failed: %v", m.name, r)
	}
	return r
}

func (m *mode) need(t testing.TB) {
	t.Helper()
	if m.setupErr != nil {
		t.Fatalf("[%s] setup failed, cannot test this mode: %v", m.name, m.setupErr)
	}
}

// forModes runs f as a subtest for each mode.
func forModes(t *testing.T, ms []*mode, f func(t *testing.T, m *mode)) {
	t.Helper()
	if len(ms) == 0 {
		t.Fatal("no mode to run in")
	}
	for _, m := range ms {
		m := m
		t.Run(m.name, func(t *testing.T) {
			m.need(t)
			f(t, m)
		})
	}
}

// norm turns CRLF into LF and drops trailing white space.
func norm(s string) string {
	return strings.TrimRight(strings.ReplaceAll(s, "\r\n", "\n"), " \t\r\n")
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(norm(s), "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}

// checkCode compares an exit code with a wanted one (anyNonZero accepts any failure exit).
func checkCode(r result, want int) bool {
	if r.signal != 0 || r.timedOut || r.err != nil {
		return false
	}
	if want == anyNonZero {
		return r.code != 0
	}
	return r.code == want
}

// checkOneLineError says what is wrong with r as a skiff error: it must have exit code 125 (or one
// of codes) and exactly one non-empty stderr line, starting with "Error: ".
func checkOneLineError(r result, codes ...int) string {
	if len(codes) == 0 {
		codes = []int{125}
	}
	okCode := false
	for _, c := range codes {
		if checkCode(r, c) {
			okCode = true
		}
	}
	var probs []string
	if !okCode {
		probs = append(probs, fmt.Sprintf("want exit code in %v", codes))
	}
	ls := lines(r.stderr)
	if len(ls) != 1 {
		probs = append(probs, fmt.Sprintf("want exactly one stderr line, got %d", len(ls)))
	}
	if len(ls) == 0 || !strings.HasPrefix(ls[0], "Error: ") {
		probs = append(probs, "stderr must start with \"Error: \"")
	}
	return strings.Join(probs, "; ")
}

// imagesSnapshot is `skiff images -q` plus the names, sorted, to compare the store before and after.
func (m *mode) imagesSnapshot(t testing.TB) string {
	t.Helper()
	q := m.mustSkiff(t, "images", "-q")
	f := m.mustSkiff(t, "images", "--format", "{{.Repository}}:{{.Tag}}")
	a, b := lines(q.stdout), lines(f.stdout)
	sort.Strings(a)
	sort.Strings(b)
	return strings.Join(a, "\n") + "\n--\n" + strings.Join(b, "\n")
}

func (m *mode) imageNames(t testing.TB) []string {
	t.Helper()
	return lines(m.mustSkiff(t, "images", "--format", "{{.Repository}}:{{.Tag}}").stdout)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// procsMatching returns the pids whose command line (NUL-separated args) equals args.
func procsMatching(args ...string) []int {
	want := strings.Join(args, "\x00") + "\x00"
	ents, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		if string(b) == want {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitFor polls cond every 20 ms until it is true or d has passed.
func waitFor(d time.Duration, cond func() bool) bool {
	end := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(end) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// started is a skiff process running in the background with its stdout read line by line.
type started struct {
	cmd    *exec.Cmd
	lines  chan string
	stderr *syncBuffer
	stdout *syncBuffer
	done   chan struct{}
	res    result
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start starts skiff with args as the mode's user in the background.
func (m *mode) start(t testing.TB, args ...string) *started {
	t.Helper()
	return startArgv(t, m.argv(append([]string{skiffBin}, args...)...))
}

// startArgv starts argv (a mode's argv) in the background.
func startArgv(t testing.TB, argv []string) *started {
	t.Helper()
	return startArgvWith(t, argv, nil)
}

// startArgvWith is startArgv with setup given the command before it starts (its stdin, or a
// terminal in place of the recorded stdout and stderr).
func startArgvWith(t testing.TB, argv []string, setup func(*exec.Cmd)) *started {
	t.Helper()
	c := newCmd(argv, opts{})
	s := &started{cmd: c, lines: make(chan string, 100), stderr: &syncBuffer{}, stdout: &syncBuffer{}, done: make(chan struct{})}
	pr, pw := io.Pipe()
	c.Stdout = io.MultiWriter(pw, s.stdout)
	c.Stderr = s.stderr
	if setup != nil {
		setup(c)
	}
	if err := c.Start(); err != nil {
		t.Fatalf("start %q: %v", argv, err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			select {
			case s.lines <- sc.Text():
			default:
			}
		}
	}()
	go func() {
		c.Wait()
		pw.Close()
		s.res = result{argv: argv, stdout: s.stdout.String(), stderr: s.stderr.String(), code: c.ProcessState.ExitCode()}
		if ws, ok := c.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			s.res.signal = ws.Signal()
		}
		close(s.done)
	}()
	t.Cleanup(func() {
		syscall.Kill(-c.Process.Pid, syscall.SIGKILL)
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
		}
	})
	return s
}

// waitLine waits for a stdout line equal to want.
func (s *started) waitLine(want string, d time.Duration) bool {
	tm := time.After(d)
	for {
		select {
		case l := <-s.lines:
			if norm(l) == want {
				return true
			}
		case <-s.done:
			return false
		case <-tm:
			return false
		}
	}
}

// wait waits for the process to end; it fails (and kills it) after d.
func (s *started) wait(t testing.TB, d time.Duration) result {
	t.Helper()
	select {
	case <-s.done:
		return s.res
	case <-time.After(d):
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		r := s.res
		r.timedOut = true
		t.Fatalf("did not end within %v: %v", d, r)
		return r
	}
}

func lookupIDs(name string) (uid, gid int, home string, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, 0, "", err
	}
	uid, _ = strconv.Atoi(u.Uid)
	gid, _ = strconv.Atoi(u.Gid)
	return uid, gid, u.HomeDir, nil
}

// capMask is the capability mask with bits 0..last set, as /proc/PID/status prints it.
func capMask(last int) string {
	var v uint64
	for i := 0; i <= last; i++ {
		v |= 1 << uint(i)
	}
	return fmt.Sprintf("%016x", v)
}

// statusField reads a field of /proc/self/status of the test process.
func statusField(name string) string {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name+":") {
			return strings.TrimSpace(strings.TrimPrefix(l, name+":"))
		}
	}
	return ""
}

func countSkiffMounts() int {
	b, _ := os.ReadFile("/proc/self/mountinfo")
	n := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "skiff") {
			n++
		}
	}
	return n
}

var hexID = regexp.MustCompile(`^[0-9a-f]{12,64}$`)

// parallel runs n skiff commands at once (args(i) for the i-th) and returns their results.
func (m *mode) parallel(n int, args func(i int) []string) []result {
	var wg sync.WaitGroup
	res := make([]result, n)
	for i := range res {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res[i] = m.exec(opts{timeout: 60 * time.Second}, append([]string{skiffBin}, args(i)...)...)
		}(i)
	}
	wg.Wait()
	return res
}
