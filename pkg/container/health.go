package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/skiff-project/skiff/pkg/config"
	"github.com/skiff-project/skiff/pkg/image"
)

// Health checks without a daemon: a container keeps its check (run's --health-* flags over the
// image's HEALTHCHECK) in its record; `skiff healthcheck run` runs it once in the running
// container, as exec does, and records the result in health.json beside the record (docker's
// State.Health: status, failing streak, the last five results). A unit's timer, a script, or
// `skiff wait --condition healthy` (which runs it at its interval) drive it.

// HealthFlags are run's --health-* flags ("" or 0 when not given).
type HealthFlags struct {
	Cmd                            string // --health-cmd: a shell command, or a JSON array (exec form)
	Interval, Timeout, StartPeriod time.Duration
	Retries                        int
	None                           bool // --no-healthcheck
}

// Docker's defaults.
const (
	DefaultHealthInterval = 30 * time.Second
	DefaultHealthTimeout  = 30 * time.Second
	DefaultHealthRetries  = 3
	healthFile            = "health.json"
	healthLogSize         = 5
)

// Health states, as docker names them.
const (
	HealthStarting  = "starting"
	HealthHealthy   = "healthy"
	HealthUnhealthy = "unhealthy"
)

// check validates the flags.
func (f HealthFlags) check() error {
	if f.None && (f.Cmd != "" || f.Interval != 0 || f.Timeout != 0 || f.StartPeriod != 0 || f.Retries != 0) {
		return errors.New("--no-healthcheck and --health-* flags conflict: give one or the other")
	}
	for _, d := range []struct {
		flag string
		v    time.Duration
	}{{"--health-interval", f.Interval}, {"--health-timeout", f.Timeout}, {"--health-start-period", f.StartPeriod}} {
		if d.v < 0 || d.v > 0 && d.v < time.Millisecond {
			return fmt.Errorf("invalid %s %v: give a duration of at least 1ms, such as 30s", d.flag, d.v)
		}
	}
	if f.Retries < 0 {
		return fmt.Errorf("invalid --health-retries %d: give a number of failures, 1 or more", f.Retries)
	}
	if strings.HasPrefix(strings.TrimSpace(f.Cmd), "[") {
		var args []string
		if err := json.Unmarshal([]byte(f.Cmd), &args); err != nil || len(args) == 0 {
			return fmt.Errorf("invalid --health-cmd %q: a JSON array of strings, or a shell command", f.Cmd)
		}
	}
	return nil
}

// healthConfig is the container's check: the image's, with the flags over it.
func (f HealthFlags) healthConfig(img *image.HealthConfig) *image.HealthConfig {
	if f.None {
		return nil
	}
	var h image.HealthConfig
	if img != nil {
		h = *img
		h.Test = append([]string{}, img.Test...)
	}
	if c := strings.TrimSpace(f.Cmd); c != "" {
		var args []string
		if strings.HasPrefix(c, "[") && json.Unmarshal([]byte(c), &args) == nil {
			h.Test = append([]string{"CMD"}, args...)
		} else {
			h.Test = []string{"CMD-SHELL", f.Cmd}
		}
	}
	if f.Interval != 0 {
		h.Interval = f.Interval
	}
	if f.Timeout != 0 {
		h.Timeout = f.Timeout
	}
	if f.StartPeriod != 0 {
		h.StartPeriod = f.StartPeriod
	}
	if f.Retries != 0 {
		h.Retries = f.Retries
	}
	if len(h.Test) == 0 || h.Test[0] == "NONE" {
		return nil
	}
	return &h
}

// healthArgv is the command of a check.
func healthArgv(h *image.HealthConfig) []string {
	if h.Test[0] == "CMD-SHELL" {
		return []string{"/bin/sh", "-c", strings.Join(h.Test[1:], " ")}
	}
	return h.Test[1:]
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// HealthInterval is the time between two checks of the container.
func (in Info) HealthInterval() time.Duration {
	if in.Meta.Healthcheck == nil {
		return DefaultHealthInterval
	}
	return orDefault(in.Meta.Healthcheck.Interval, DefaultHealthInterval)
}

// HealthResult is one run of the check (docker's field names).
type HealthResult struct {
	Start    time.Time `json:"Start"`
	End      time.Time `json:"End"`
	ExitCode int       `json:"ExitCode"`
	Output   string    `json:"Output"`
}

// Health is a container's health (docker's State.Health).
type Health struct {
	Status        string         `json:"Status"`
	FailingStreak int            `json:"FailingStreak"`
	Log           []HealthResult `json:"Log"`
}

// Health is the container's recorded health: nil without a check; "starting" until the first
// result of its current run.
func (r *Records) Health(in Info) *Health {
	if in.Meta.Healthcheck == nil {
		return nil
	}
	var h Health
	b, err := os.ReadFile(filepath.Join(r.Path(in.ID), healthFile))
	if err != nil || json.Unmarshal(b, &h) != nil || !in.State.StartedAt.IsZero() && len(h.Log) > 0 && h.Log[len(h.Log)-1].Start.Before(in.State.StartedAt) {
		return &Health{Status: HealthStarting, Log: []HealthResult{}}
	}
	return &h
}

// RunHealthcheck runs the container's check once, records the result and returns the health.
func RunHealthcheck(paths config.Paths, ref string, o ExecOptions) (*Health, error) {
	recs := OpenRecords(paths.GraphRoot)
	in, err := recs.Lookup(ref)
	if err != nil {
		return nil, err
	}
	hc := in.Meta.Healthcheck
	if hc == nil {
		return nil, fmt.Errorf("container %s has no health check: run it with --health-cmd, or from an image with HEALTHCHECK", ref)
	}
	if !in.Running {
		return nil, fmt.Errorf("container %s is not running: only a running container can be checked", ref)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	out := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(pr, 4096))
		_, _ = io.Copy(io.Discard, pr)
		out <- string(b)
	}()
	timeout := orDefault(hc.Timeout, DefaultHealthTimeout)
	res := HealthResult{Start: time.Now().UTC()}
	o.Cmd, o.Stdin, o.Stdout, o.Stderr, o.Interactive, o.TTY, o.Detach = healthArgv(hc), nil, pw, pw, false, false, false
	var timedOut atomic.Bool
	o.started = func(pid int) {
		time.AfterFunc(timeout, func() {
			timedOut.Store(true)
			killTree(pid)
		})
	}
	code, err := Exec(paths, ref, o)
	pw.Close()
	res.End, res.Output = time.Now().UTC(), <-out
	pr.Close()
	if err != nil && code == 125 {
		return nil, err
	}
	res.ExitCode = code
	if timedOut.Load() {
		res.ExitCode, res.Output = -1, fmt.Sprintf("Health check exceeded timeout (%v)", timeout)
	}
	return recs.recordHealth(in, res)
}

// recordHealth adds a result to the container's health, under its lock.
func (r *Records) recordHealth(in Info, res HealthResult) (*Health, error) {
	dir := r.Path(in.ID)
	lock, err := os.OpenFile(filepath.Join(dir, "."+healthFile+".lock"), os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	for syscall.Flock(int(lock.Fd()), syscall.LOCK_EX) == syscall.EINTR {
	}
	h := r.Health(in)
	hc := in.Meta.Healthcheck
	retries := hc.Retries
	if retries <= 0 {
		retries = DefaultHealthRetries
	}
	switch {
	case res.ExitCode == 0:
		h.Status, h.FailingStreak = HealthHealthy, 0
	case h.Status == HealthStarting && res.Start.Sub(in.State.StartedAt) < hc.StartPeriod:
		// failures in the start period do not count
	default:
		h.FailingStreak++
		if h.FailingStreak >= retries {
			h.Status = HealthUnhealthy
		}
	}
	h.Log = append(h.Log, res)
	if len(h.Log) > healthLogSize {
		h.Log = h.Log[len(h.Log)-healthLogSize:]
	}
	return h, replaceJSON(dir, healthFile, h)
}

// WaitConditions are wait --condition's values besides docker's stopped ones.
var WaitConditions = []string{"running", "healthy", "unhealthy", "stopped", "exited", "not-running"}

// WaitRunning waits until the container runs.
func (r *Records) WaitRunning(ref string) error {
	for {
		in, err := r.Lookup(ref)
		if err != nil {
			return err
		}
		if in.Running {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitHealth waits until the container's health is want (healthy or unhealthy), running its
// check at the check's interval meanwhile (no daemon runs it otherwise).
func WaitHealth(paths config.Paths, ref, want string, o ExecOptions) error {
	recs := OpenRecords(paths.GraphRoot)
	for {
		in, err := recs.Lookup(ref)
		if err != nil {
			return err
		}
		if in.Meta.Healthcheck == nil {
			return fmt.Errorf("container %s has no health check to wait for: run it with --health-cmd, or from an image with HEALTHCHECK", ref)
		}
		if !in.Running {
			return fmt.Errorf("container %s stopped before it was %s", ref, want)
		}
		h, err := RunHealthcheck(paths, ref, o)
		if err != nil {
			return err
		}
		if h.Status == want {
			return nil
		}
		time.Sleep(in.HealthInterval())
	}
}

// killTree kills process pid and its descendants (the exec'd skiff-init and the check's
// processes), the children first so that none is left to the container's init.
func killTree(pid int) {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/task/%d/children", pid, pid))
	for _, c := range strings.Fields(string(b)) {
		var child int
		if _, err := fmt.Sscan(c, &child); err == nil {
			killTree(child)
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
