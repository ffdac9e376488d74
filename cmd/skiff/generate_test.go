package main

import (
	"reflect"
	"testing"
)

func TestRunArgsFor(t *testing.T) {
	for _, c := range []struct {
		name          string
		argv          []string
		globals, rest []string
		err           bool
	}{
		{"plain", []string{"skiff", "run", "-d", "--name", "web", "bb", "sleep", "300"}, nil, []string{"bb", "sleep", "300"}, false},
		{"values kept", []string{"/bin/skiff", "run", "-e", "A=1", "--memory=64m", "-p", "8080:80", "--rm", "bb"}, nil, []string{"-e", "A=1", "--memory=64m", "-p", "8080:80", "bb"}, false},
		{"short flags together", []string{"skiff", "run", "-dit", "-eA=1", "bb", "sh"}, nil, []string{"-it", "-e", "A=1", "bb", "sh"}, false},
		{"unit's own flags dropped", []string{"skiff", "run", "--name=x", "--cidfile", "/c", "--pidfile=/p", "--sdnotify", "ready", "--replace", "--detach", "bb"}, nil, []string{"bb"}, false},
		{"command flags stay", []string{"skiff", "run", "bb", "ls", "-d", "--name", "x"}, nil, []string{"bb", "ls", "-d", "--name", "x"}, false},
		{"globals", []string{"skiff", "--root", "/r", "--storage-driver=vfs", "container", "create", "-v", "/a:/b", "bb"}, []string{"--root", "/r", "--storage-driver=vfs"}, []string{"-v", "/a:/b", "bb"}, false},
		{"not run", []string{"skiff", "exec", "x"}, nil, nil, true},
	} {
		g, r, err := runArgsFor(c.argv)
		if c.err != (err != nil) || !c.err && (!reflect.DeepEqual(g, c.globals) || !reflect.DeepEqual(r, c.rest)) {
			t.Errorf("%s: runArgsFor(%q) = %q, %q, %v; want %q, %q", c.name, c.argv, g, r, err, c.globals, c.rest)
		}
	}
}
