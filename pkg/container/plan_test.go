package container

import (
	"bytes"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/skiff-project/skiff/pkg/image"
	"github.com/skiff-project/skiff/pkg/spec"
)

// words splits a plan into its ops: each op is its opcode followed by its arguments.
func ops(plan []byte) [][]string {
	w := strings.Split(strings.TrimSuffix(string(plan), "\x00"), "\x00")
	arity := map[string]int{"skiff-plan-1": 0, "rootfs": 1, "mount": 4, "bind": 6, "symlink": 2, "mkdir": 1, "mask": 1,
		"readonly": 1, "rootro": 0, "hostname": 1, "rlimit": 3, "cwd": 1, "caps": 5, "nnp": 0, "seccomp": 1, "tty": 2,
		"env": 1, "arg": 1, "end": 0, "file": 2, "overlay": 3, "trace": 0, "nostdin": 0, "attach": 1, "sysctl": 2}
	var out [][]string
	for i := 0; i < len(w); {
		op := w[i]
		n, ok := arity[op]
		if op == "user" { // uid gid N then N group ids
			cnt, _ := strconv.Atoi(w[i+3])
			n, ok = 3+cnt, true
		}
		if !ok {
			panic("unknown op " + op)
		}
		out = append(out, w[i:i+1+n])
		i += 1 + n
	}
	return out
}

func TestMakePlan(t *testing.T) {
	dir := t.TempDir()
	file := dir + "/f"
	os.WriteFile(file, nil, 0o644)
	s, err := spec.Build(image.ImageConfig{Cmd: []string{"sh", "-c", "echo hi"}}, spec.Options{
		Volumes: []string{dir + ":/data/deep/er:ro", file + ":/data/f"}, Tmpfs: []string{"/run"}, ReadOnly: true,
		User: "1000:1000", Ulimits: []string{"nofile=10:20"}, SecurityOpt: []string{"no-new-privileges"}, TTY: true,
	}, "abcdef", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := makePlan(s, planInput{Rootfs: "/merged", EtcFiles: map[string]string{"/etc/hosts": "127.0.0.1 localhost\n"}, SeccompSent: true, Rows: 30, Cols: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(p, []byte("skiff-plan-1\x00rootfs\x00/merged\x00")) || !bytes.HasSuffix(p, []byte("end\x00")) {
		t.Fatalf("plan framing wrong: %q", p)
	}
	got := ops(p)
	index := func(pred func([]string) bool) int { return slices.IndexFunc(got, pred) }
	find := func(op, arg string) int {
		return index(func(o []string) bool { return o[0] == op && (arg == "" || slices.Contains(o[1:], arg)) })
	}
	// order: proc first, /dev then devices, /dev/pts after them, etc files before volumes,
	// parents before children, masks after mounts, root read-only after everything mounted
	checks := []struct {
		before, after [2]string
	}{
		{[2]string{"mount", "/proc"}, [2]string{"mount", "/dev"}},
		{[2]string{"mount", "/dev"}, [2]string{"bind", "/dev/null"}},
		{[2]string{"bind", "/dev/null"}, [2]string{"mount", "/dev/pts"}},
		{[2]string{"file", "/etc/hosts"}, [2]string{"bind", "/data/f"}},
		{[2]string{"mount", "/run"}, [2]string{"bind", "/data/deep/er"}},
		{[2]string{"bind", "/data/deep/er"}, [2]string{"mask", "/proc/kcore"}},
		{[2]string{"mask", "/proc/kcore"}, [2]string{"rootro", ""}},
		{[2]string{"rootro", ""}, [2]string{"arg", "sh"}},
	}
	for _, c := range checks {
		a, b := find(c.before[0], c.before[1]), find(c.after[0], c.after[1])
		if a < 0 || b < 0 || a >= b {
			t.Errorf("%v (at %d) must come before %v (at %d)", c.before, a, c.after, b)
		}
	}
	if i := find("bind", "/data/deep/er"); i < 0 || got[i][3] != "1" || got[i][5] != "d" {
		t.Errorf("ro dir bind encoded as %v", got[i])
	}
	if i := find("bind", "/data/f"); i < 0 || got[i][5] != "f" {
		t.Errorf("file bind encoded as %v", got[i])
	}
	for _, want := range [][]string{{"user", "1000", "1000", "0"}, {"rlimit", "7", "10", "20"}, {"nnp"}, {"seccomp", "-1"}, {"tty", "30", "100"}, {"cwd", "/"}} {
		if index(func(o []string) bool { return slices.Equal(o, want) }) < 0 {
			t.Errorf("plan lacks %v", want)
		}
	}
	// docker's default capabilities as capset masks; a non-root user gets no inheritable set
	if i := find("caps", ""); i < 0 || got[i][1] != "0xa80425fb" || got[i][2] != "0xa80425fb" {
		t.Errorf("caps encoded as %v", got[i])
	}
	if i := find("file", "/etc/hosts"); i < 0 || got[i][2] != "127.0.0.1 localhost\n" {
		t.Errorf("etc file encoded as %v", got[i])
	}
	// skiff-init's own overlay mount, the seccomp program on the socket, tracing, no stdin
	p, err = makePlan(s, planInput{Rootfs: "/c/rootfs", Overlay: "lowerdir=l/A,upperdir=/c/upper,workdir=/c/work", OverlayDir: "/s/overlay",
		SeccompSent: true, Trace: true, NoStdin: true})
	if err != nil {
		t.Fatal(err)
	}
	got = ops(p)
	if !slices.Equal(got[1], []string{"trace"}) || !slices.Equal(got[2], []string{"overlay", "/c/rootfs", "lowerdir=l/A,upperdir=/c/upper,workdir=/c/work", "/s/overlay"}) {
		t.Errorf("plan starts %v, want trace then overlay", got[:3])
	}
	if find("seccomp", "-1") < 0 {
		t.Error("plan lacks seccomp -1 (program on the sync socket)")
	}
	if find("nostdin", "") >= 0 {
		t.Error("nostdin with a terminal: the terminal is the command's stdin")
	}
	// a missing bind source is an error naming it
	s.Mounts = append(s.Mounts, s.Mounts[len(s.Mounts)-1])
	s.Mounts[len(s.Mounts)-1].Type, s.Mounts[len(s.Mounts)-1].Source = "bind", "/nonexistent/src"
	if _, err := makePlan(s, planInput{Rootfs: "/m"}); err == nil || !strings.Contains(err.Error(), "/nonexistent/src") {
		t.Errorf("missing source: err = %v", err)
	}
}

func TestValidName(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{{"web", true}, {"web_1.a-b", true}, {"9lives", true}, {"_x", false}, {"a b", false}, {"a/b", false}, {"", true}} {
		if (ValidName(tt.name) == nil) != tt.ok {
			t.Errorf("ValidName(%q) ok = %v", tt.name, !tt.ok)
		}
	}
}

func TestParseLogOpts(t *testing.T) {
	for _, tc := range []struct {
		opts    []string
		want    logLimits
		wantErr string
	}{
		{nil, logLimits{}, ""},
		{[]string{"max-size=10m"}, logLimits{maxSize: 10 << 20}, ""},
		{[]string{"max-size=8k", "max-file=3"}, logLimits{maxSize: 8 << 10, maxFiles: 3}, ""},
		{[]string{"max-file=1"}, logLimits{maxFiles: 1}, ""},
		{[]string{"max-file=3"}, logLimits{}, "needs max-size"},
		{[]string{"max-size=1"}, logLimits{}, "at least 4k"},
		{[]string{"max-size=8k", "max-file=0"}, logLimits{}, "from 1 to 100"},
		{[]string{"compress=true"}, logLimits{}, "max-size=SIZE and max-file=N"},
	} {
		got, err := parseLogOpts(tc.opts)
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%v: error %v, want one with %q", tc.opts, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || got != tc.want):
			t.Errorf("%v: %+v, %v; want %+v", tc.opts, got, err, tc.want)
		}
	}
}
