package spec

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/skiff-project/skiff/pkg/image"
)

type fakeFiles map[string]string

func (f fakeFiles) ReadFile(name string) ([]byte, error) {
	if s, ok := f[name]; ok {
		return []byte(s), nil
	}
	return nil, os.ErrNotExist
}

var etc = fakeFiles{
	"/etc/passwd": "root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nweb:x:33:33::/var/www:/bin/false\n",
	"/etc/group":  "root:x:0:\nuser:x:1000:\nwheel:x:10:user,web\naudio:x:29:user\n",
}

func str(s string) *string { return &s }

func TestBuildCommand(t *testing.T) {
	tests := []struct {
		name  string
		img   image.ImageConfig
		o     Options
		want  []string
		isErr bool
	}{
		{"cmd from image", image.ImageConfig{Cmd: []string{"sh"}}, Options{}, []string{"sh"}, false},
		{"user cmd replaces", image.ImageConfig{Cmd: []string{"sh"}}, Options{Cmd: []string{"echo", "hi"}}, []string{"echo", "hi"}, false},
		{"entrypoint + cmd", image.ImageConfig{Entrypoint: []string{"echo"}, Cmd: []string{"a"}}, Options{}, []string{"echo", "a"}, false},
		{"entrypoint + user args", image.ImageConfig{Entrypoint: []string{"echo"}, Cmd: []string{"a"}}, Options{Cmd: []string{"x"}}, []string{"echo", "x"}, false},
		{"--entrypoint resets cmd", image.ImageConfig{Entrypoint: []string{"echo"}, Cmd: []string{"a"}}, Options{Entrypoint: str("ls")}, []string{"ls"}, false},
		{"--entrypoint '' with cmd", image.ImageConfig{Entrypoint: []string{"echo"}}, Options{Entrypoint: str(""), Cmd: []string{"id"}}, []string{"id"}, false},
		{"nothing to run", image.ImageConfig{}, Options{}, nil, true},
	}
	for _, tt := range tests {
		s, err := Build(tt.img, tt.o, "0123456789abcdef", etc)
		if tt.isErr {
			var se *Error
			if !errors.As(err, &se) {
				t.Errorf("%s: err = %v, want *Error", tt.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !reflect.DeepEqual(s.Process.Args, tt.want) {
			t.Errorf("%s: args = %q, want %q", tt.name, s.Process.Args, tt.want)
		}
	}
}

func envOf(s *rspec.Spec, key string) (string, bool) {
	for _, e := range s.Process.Env {
		if k, v, _ := strings.Cut(e, "="); k == key {
			return v, true
		}
	}
	return "", false
}

func TestBuildEnvAndDefaults(t *testing.T) {
	dir := t.TempDir()
	envFile := filepath.Join(dir, "env")
	os.WriteFile(envFile, []byte("# comment\nFROMFILE=1\n\nA=file\n"), 0o644)
	host := func(k string) (string, bool) {
		if k == "HOSTVAR" {
			return "hv", true
		}
		return "", false
	}
	s, err := Build(image.ImageConfig{Cmd: []string{"sh"}, Env: []string{"A=image", "B=image"}},
		Options{Env: []string{"A=flag", "HOSTVAR", "UNSET"}, EnvFiles: []string{envFile}, HostEnv: host, TTY: true}, "0123456789abcdef0123", etc)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"A": "flag", "B": "image", "FROMFILE": "1", "HOSTVAR": "hv", "PATH": DefaultPath,
		"HOSTNAME": "0123456789ab", "HOME": "/root", "TERM": "xterm"} {
		if got, _ := envOf(s, k); got != want {
			t.Errorf("env %s = %q, want %q", k, got, want)
		}
	}
	if _, ok := envOf(s, "UNSET"); ok {
		t.Error("-e UNSET with no host value must not be set")
	}
	if s.Hostname != "0123456789ab" || s.Process.Cwd != "/" || !s.Process.Terminal {
		t.Errorf("hostname %q cwd %q terminal %v", s.Hostname, s.Process.Cwd, s.Process.Terminal)
	}
	// namespaces: net by default
	if !slices.ContainsFunc(s.Linux.Namespaces, func(n rspec.LinuxNamespace) bool { return n.Type == rspec.NetworkNamespace }) {
		t.Error("no network namespace with the default network")
	}
	if s.Linux.Seccomp == nil || len(s.Linux.MaskedPaths) == 0 || len(s.Process.Capabilities.Bounding) != 14 {
		t.Error("default security settings missing")
	}
}

func TestBuildOptions(t *testing.T) {
	img := image.ImageConfig{Cmd: []string{"sh"}, WorkingDir: "/srv", User: "web"}
	tests := []struct {
		name  string
		o     Options
		check func(*rspec.Spec) bool
		bad   string // substring of the error
	}{
		{"image workdir and user", Options{}, func(s *rspec.Spec) bool {
			return s.Process.Cwd == "/srv" && s.Process.User.UID == 33 && s.Process.User.GID == 33
		}, ""},
		{"-w -u", Options{Workdir: "/tmp", User: "1000:1000"}, func(s *rspec.Spec) bool {
			return s.Process.Cwd == "/tmp" && s.Process.User.UID == 1000 && s.Process.User.GID == 1000
		}, ""},
		{"relative workdir", Options{Workdir: "tmp"}, nil, "not absolute"},
		{"host network", Options{Network: "host", HostHostname: "box"}, func(s *rspec.Spec) bool {
			return s.Hostname == "box" && !slices.ContainsFunc(s.Linux.Namespaces, func(n rspec.LinuxNamespace) bool { return n.Type == rspec.NetworkNamespace })
		}, ""},
		{"container network", Options{Network: "container:web"}, func(s *rspec.Spec) bool {
			return !slices.ContainsFunc(s.Linux.Namespaces, func(n rspec.LinuxNamespace) bool { return n.Type == rspec.NetworkNamespace })
		}, ""},
		{"own network", Options{Network: "pasta"}, func(s *rspec.Spec) bool {
			return slices.ContainsFunc(s.Linux.Namespaces, func(n rspec.LinuxNamespace) bool { return n.Type == rspec.NetworkNamespace })
		}, ""},
		{"hostname", Options{Hostname: "web1"}, func(s *rspec.Spec) bool { return s.Hostname == "web1" }, ""},
		{"bad hostname", Options{Hostname: "a b"}, nil, "invalid --hostname"},
		{"unconfined", Options{SecurityOpt: []string{"seccomp=unconfined"}}, func(s *rspec.Spec) bool { return s.Linux.Seccomp == nil }, ""},
		{"old spelling", Options{SecurityOpt: []string{"seccomp:unconfined"}}, func(s *rspec.Spec) bool { return s.Linux.Seccomp == nil }, ""},
		{"nnp", Options{SecurityOpt: []string{"no-new-privileges"}}, func(s *rspec.Spec) bool { return s.Process.NoNewPrivileges }, ""},
		{"deferred default seccomp", Options{DeferDefaultSeccomp: true}, func(s *rspec.Spec) bool {
			return s.Linux.Seccomp == nil && s.Annotations[DefaultSeccompAnnotation] == "default"
		}, ""},
		{"deferred, unconfined", Options{DeferDefaultSeccomp: true, SecurityOpt: []string{"seccomp=unconfined"}}, func(s *rspec.Spec) bool {
			return s.Linux.Seccomp == nil && s.Annotations[DefaultSeccompAnnotation] == ""
		}, ""},
		{"bad security opt", Options{SecurityOpt: []string{"bogus=1"}}, nil, "unknown --security-opt"},
		{"relative profile", Options{SecurityOpt: []string{"seccomp=p.json"}}, nil, "absolute path"},
		{"missing profile", Options{SecurityOpt: []string{"seccomp=/nonexistent.json"}}, nil, "/nonexistent.json"},
		{"cap drop all", Options{CapDrop: []string{"ALL"}}, func(s *rspec.Spec) bool { return len(s.Process.Capabilities.Bounding) == 0 }, ""},
		{"bad cap", Options{CapAdd: []string{"NOPE"}}, nil, "unknown capability"},
		{"privileged", Options{Privileged: true}, func(s *rspec.Spec) bool {
			return s.Linux.Seccomp == nil && len(s.Linux.MaskedPaths) == 0 && len(s.Process.Capabilities.Bounding) > 30
		}, ""},
		{"read-only", Options{ReadOnly: true}, func(s *rspec.Spec) bool { return s.Root.Readonly }, ""},
		{"volume and tmpfs", Options{Volumes: []string{"/tmp:/data:ro"}, Tmpfs: []string{"/run"}}, func(s *rspec.Spec) bool {
			n := len(s.Mounts)
			return n == NumDefaultMounts+2 && s.Mounts[n-2].Destination == "/data" && slices.Contains(s.Mounts[n-2].Options, "ro") && s.Mounts[n-1].Type == "tmpfs"
		}, ""},
		{"duplicate mount", Options{Volumes: []string{"/tmp:/data"}, Tmpfs: []string{"/data"}}, nil, "two mounts"},
		{"ulimit", Options{Ulimits: []string{"nofile=100:200"}}, func(s *rspec.Spec) bool {
			return len(s.Process.Rlimits) == 1 && s.Process.Rlimits[0] == rspec.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 100, Hard: 200}
		}, ""},
		{"bad ulimit", Options{Ulimits: []string{"bogus"}}, nil, "invalid --ulimit"},
		{"unknown user", Options{User: "nobody2"}, nil, "not found"},
		{"uts host", Options{UTS: "host", HostHostname: "box"}, func(s *rspec.Spec) bool {
			return s.Hostname == "box" && !slices.ContainsFunc(s.Linux.Namespaces, func(n rspec.LinuxNamespace) bool { return n.Type == rspec.UTSNamespace })
		}, ""},
		{"uts host and hostname", Options{UTS: "host", Hostname: "h"}, nil, "conflict"},
		{"bad uts", Options{UTS: "other"}, nil, "invalid --uts"},
		{"ipc host", Options{IPC: "host"}, func(s *rspec.Spec) bool {
			return s.Mounts[3].Type == "bind" && s.Mounts[3].Source == "/dev/shm" &&
				!slices.ContainsFunc(s.Linux.Namespaces, func(n rspec.LinuxNamespace) bool { return n.Type == rspec.IPCNamespace })
		}, ""},
		{"ipc shareable", Options{IPC: "shareable"}, func(s *rspec.Spec) bool {
			return slices.ContainsFunc(s.Linux.Namespaces, func(n rspec.LinuxNamespace) bool { return n.Type == rspec.IPCNamespace })
		}, ""},
		{"bad ipc", Options{IPC: "container:x"}, nil, "invalid --ipc"},
		{"shm size", Options{ShmSize: 1 << 20}, func(s *rspec.Spec) bool { return slices.Contains(s.Mounts[3].Options, "size=1048576") }, ""},
		{"shm size and ipc host", Options{ShmSize: 1 << 20, IPC: "host"}, nil, "conflict"},
		{"group-add", Options{User: "web", GroupAdd: []string{"audio", "7", "wheel"}}, func(s *rspec.Spec) bool {
			return slices.Equal(s.Process.User.AdditionalGids, []uint32{10, 29, 7})
		}, ""},
		{"unknown group-add", Options{GroupAdd: []string{"nogroup2"}}, nil, "--group-add nogroup2"},
		{"sysctl", Options{Sysctl: []string{"net.ipv4.ip_unprivileged_port_start=80", "kernel/shmmax=1000"}}, func(s *rspec.Spec) bool {
			return s.Linux.Sysctl["net.ipv4.ip_unprivileged_port_start"] == "80" && s.Linux.Sysctl["kernel.shmmax"] == "1000"
		}, ""},
		{"sysctl not namespaced", Options{Sysctl: []string{"vm.swappiness=1"}}, nil, "not allowed"},
		{"sysctl net with host network", Options{Network: "host", Sysctl: []string{"net.core.somaxconn=1"}}, nil, "--network host"},
		{"sysctl ipc with host ipc", Options{IPC: "host", Sysctl: []string{"kernel.shmmax=1"}}, nil, "--ipc host"},
		{"sysctl without value", Options{Sysctl: []string{"net.core.somaxconn"}}, nil, "invalid --sysctl"},
	}
	for _, tt := range tests {
		s, err := Build(img, tt.o, "abc", etc)
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("%s: err = %v, want one containing %q", tt.name, err, tt.bad)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if !tt.check(s) {
			t.Errorf("%s: unexpected spec %+v / %+v", tt.name, s.Process, s.Linux)
		}
	}
}

func TestParseVolume(t *testing.T) {
	tests := []struct {
		in   string
		want rspec.Mount
		bad  bool
	}{
		{"/a:/b", rspec.Mount{Destination: "/b", Type: "bind", Source: "/a", Options: []string{"rbind"}}, false},
		{"/a/:/b/:ro", rspec.Mount{Destination: "/b", Type: "bind", Source: "/a", Options: []string{"rbind", "ro"}}, false},
		{"/a:/b:rw,z", rspec.Mount{Destination: "/b", Type: "bind", Source: "/a", Options: []string{"rbind", "rw"}}, false},
		{"relative:/x", rspec.Mount{}, true},
		{"/a:rel", rspec.Mount{}, true},
		{"/a:/b:bogus", rspec.Mount{}, true},
		{"/onlyone", rspec.Mount{}, true},
		{"/a:/b:ro:x", rspec.Mount{}, true},
		{"", rspec.Mount{}, true},
	}
	for _, tt := range tests {
		got, err := ParseVolume(tt.in)
		if tt.bad != (err != nil) {
			t.Errorf("ParseVolume(%q) err = %v", tt.in, err)
			continue
		}
		if !tt.bad && !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseVolume(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestParseUlimit(t *testing.T) {
	max := ^uint64(0)
	tests := []struct {
		in         string
		soft, hard uint64
		bad        bool
	}{
		{"nofile=100", 100, 100, false},
		{"nofile=100:200", 100, 200, false},
		{"core=-1", max, max, false},
		{"stack=unlimited:unlimited", max, max, false},
		{"nofile=200:100", 0, 0, true},
		{"nofile=x", 0, 0, true},
		{"bogus=1", 0, 0, true},
		{"nofile", 0, 0, true},
	}
	for _, tt := range tests {
		r, err := ParseUlimit(tt.in)
		if tt.bad != (err != nil) {
			t.Errorf("ParseUlimit(%q) err = %v", tt.in, err)
			continue
		}
		if !tt.bad && (r.Soft != tt.soft || r.Hard != tt.hard) {
			t.Errorf("ParseUlimit(%q) = %d:%d", tt.in, r.Soft, r.Hard)
		}
	}
}

func TestResolveUser(t *testing.T) {
	tests := []struct {
		in     string
		uid    uint32
		gid    uint32
		groups []uint32
		home   string
		bad    bool
	}{
		{"", 0, 0, nil, "/root", false},
		{"root", 0, 0, nil, "/root", false},
		{"user", 1000, 1000, []uint32{10, 29}, "/home/user", false},
		{"1000", 1000, 1000, []uint32{10, 29}, "/home/user", false},
		{"1000:10", 1000, 10, nil, "/home/user", false},
		{"user:wheel", 1000, 10, nil, "/home/user", false},
		{"4242", 4242, 0, nil, "/", false},
		{"4242:4242", 4242, 4242, nil, "/", false},
		{"web", 33, 33, []uint32{10}, "/var/www", false},
		{"ghost", 0, 0, nil, "", true},
		{"user:ghosts", 0, 0, nil, "", true},
		{":1", 0, 0, nil, "", true},
		{"1:", 0, 0, nil, "", true},
	}
	for _, tt := range tests {
		u, err := ResolveUser(tt.in, etc)
		if tt.bad != (err != nil) {
			t.Errorf("ResolveUser(%q) err = %v", tt.in, err)
			continue
		}
		if tt.bad {
			continue
		}
		if u.User.UID != tt.uid || u.User.GID != tt.gid || !slices.Equal(u.User.AdditionalGids, tt.groups) || u.Home != tt.home {
			t.Errorf("ResolveUser(%q) = %+v home %q; want %d:%d %v %q", tt.in, u.User, u.Home, tt.uid, tt.gid, tt.groups, tt.home)
		}
	}
	// no /etc/passwd at all: numeric ids still work
	if u, err := ResolveUser("5:6", fakeFiles{}); err != nil || u.User.UID != 5 || u.User.GID != 6 {
		t.Errorf("ResolveUser without passwd = %+v, %v", u, err)
	}
}
