package image

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		in    string
		local bool
		want  string
		bad   bool
	}{
		{"busybox", true, "localhost/busybox:latest", false},
		{"busybox", false, "docker.io/library/busybox:latest", false},
		{"busybox:1.36", true, "localhost/busybox:1.36", false},
		{"me/app", false, "docker.io/me/app:latest", false},
		{"me/app", true, "localhost/me/app:latest", false},
		{"quay.io/x/y:2", true, "quay.io/x/y:2", false},
		{"localhost/a", false, "localhost/a:latest", false},
		{"127.0.0.1:5000/a:b", true, "127.0.0.1:5000/a:b", false},
		{"docker://busybox", false, "docker.io/library/busybox:latest", false},
		{"UPPER/Case::x", true, "", true},
		{"Busybox", true, "", true},
		{"", true, "", true},
		{"a b", true, "", true},
		{"a:", true, "", true},
		{"index.docker.io/x", false, "docker.io/library/x:latest", false},
		{"[::1]:5000/a:1", true, "", true},
		{"a__b/c-d.e:v1.0_x", true, "localhost/a__b/c-d.e:v1.0_x", false},
		{"a/b@sha256:0000000000000000000000000000000000000000000000000000000000000000", false, "docker.io/a/b@sha256:0000000000000000000000000000000000000000000000000000000000000000", false},
		{"a@sha256:xyz", false, "", true},
		{"a-/b", false, "", true},
		{"-a", false, "", true},
		{"a//b", false, "", true},
		{"a:" + strings.Repeat("x", 129), false, "", true},
		{strings.Repeat("a", 256), true, "", true},
		{"Reg.io/x", false, "Reg.io/x:latest", false},
		{"bad_host.io:x/a", false, "", true},
	}
	for _, tt := range tests {
		r, err := Parse(tt.in, tt.local)
		if tt.bad {
			var be *ErrBadReference
			if !errors.As(err, &be) {
				t.Errorf("Parse(%q) err = %v, want ErrBadReference", tt.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := r.Named.String(); got != tt.want {
			t.Errorf("Parse(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCandidates(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"bb", []string{"localhost/bb:latest", "docker.io/library/bb:latest"}},
		{"x/bb:1", []string{"localhost/x/bb:1", "docker.io/x/bb:1"}},
		{"localhost/bb", []string{"localhost/bb:latest"}},
		{"reg.io/bb", []string{"reg.io/bb:latest"}},
	}
	for _, tt := range tests {
		got, err := Candidates(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Candidates(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestSplitAndID(t *testing.T) {
	for _, tt := range []struct{ in, repo, tag string }{
		{"localhost/bb:latest", "localhost/bb", "latest"},
		{"127.0.0.1:5000/a:b", "127.0.0.1:5000/a", "b"},
		{"127.0.0.1:5000/a", "127.0.0.1:5000/a", "<none>"},
		{"x/y@sha256:abc", "x/y", "sha256:abc"},
	} {
		r, g := Split(tt.in)
		if r != tt.repo || g != tt.tag {
			t.Errorf("Split(%q) = %q,%q", tt.in, r, g)
		}
	}
	for _, tt := range []struct {
		in   string
		want bool
	}{{"abc", true}, {"ab", false}, {"sha256:0123abcd", true}, {"busybox", false}, {"ABC", false}} {
		if LooksLikeID(tt.in) != tt.want {
			t.Errorf("LooksLikeID(%q) != %v", tt.in, tt.want)
		}
	}
}
