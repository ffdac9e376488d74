package config

import (
	"testing"

	"github.com/skiff-project/skiff/pkg/userns"
)

func TestDefault(t *testing.T) {
	defer userns.Set(userns.Current())
	tests := []struct {
		name      string
		state     userns.State
		env       map[string]string
		opts      Options
		graph     string
		runDir    string
		runRoot   string
		wantError bool
	}{
		{"root", userns.State{}, nil, Options{}, "/var/lib/skiff/storage", "/run/skiff", "/run/skiff/storage", false},
		{"root --root", userns.State{}, nil, Options{Root: "/x", RunRoot: "/y"}, "/x", "/run/skiff", "/y", false},
		{"rootless home", userns.State{Rootless: true, UID: 1000, RunDir: "/run/user/1000/skiff"},
			map[string]string{"HOME": "/home/u", "XDG_DATA_HOME": ""}, Options{},
			"/home/u/.local/share/skiff/storage", "/run/user/1000/skiff", "/run/user/1000/skiff/storage", false},
		{"rootless xdg", userns.State{Rootless: true, UID: 1000},
			map[string]string{"HOME": "/home/u", "XDG_DATA_HOME": "/data"}, Options{},
			"/data/skiff/storage", "/tmp/skiff-1000", "/tmp/skiff-1000/storage", false},
		{"rootless relative xdg ignored", userns.State{Rootless: true, UID: 7},
			map[string]string{"HOME": "/home/u", "XDG_DATA_HOME": "rel"}, Options{},
			"/home/u/.local/share/skiff/storage", "/tmp/skiff-7", "/tmp/skiff-7/storage", false},
		{"rootless no home", userns.State{Rootless: true, UID: 7},
			map[string]string{"HOME": "", "XDG_DATA_HOME": ""}, Options{}, "", "", "", true},
	}
	for _, tt := range tests {
		userns.Set(tt.state)
		for k, v := range tt.env {
			t.Setenv(k, v)
		}
		p, err := Default(tt.opts)
		if tt.wantError {
			if err == nil {
				t.Errorf("%s: want an error", tt.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if p.GraphRoot != tt.graph || p.RunDir != tt.runDir || p.RunRoot != tt.runRoot {
			t.Errorf("%s: got %+v", tt.name, p)
		}
	}
}
