package caps

import (
	"slices"
	"testing"
)

func TestNormalize(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"chown", "CAP_CHOWN"}, {"CHOWN", "CAP_CHOWN"}, {"cap_chown", "CAP_CHOWN"}, {"CAP_NET_ADMIN", "CAP_NET_ADMIN"},
		{"all", "ALL"}, {"ALL", "ALL"}, {"nope", ""}, {"", ""},
	} {
		got, err := Normalize(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("Normalize(%q) = %q, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestResolve(t *testing.T) {
	def := Default()
	slices.Sort(def)
	tests := []struct {
		name       string
		add, drop  []string
		privileged bool
		want       []string // nil: check func
		check      func([]string) bool
		bad        bool
	}{
		{name: "default", want: def},
		{name: "drop all", drop: []string{"ALL"}, want: []string{}},
		{name: "drop all add one", add: []string{"chown"}, drop: []string{"all"}, want: []string{"CAP_CHOWN"}},
		{name: "drop one", drop: []string{"NET_RAW"}, check: func(c []string) bool { return !slices.Contains(c, "CAP_NET_RAW") && len(c) == len(def)-1 }},
		{name: "add one", add: []string{"SYS_ADMIN"}, check: func(c []string) bool { return slices.Contains(c, "CAP_SYS_ADMIN") && len(c) == len(def)+1 }},
		{name: "add all", add: []string{"ALL"}, check: func(c []string) bool { return len(c) == len(All()) }},
		{name: "privileged", privileged: true, check: func(c []string) bool { return len(c) == len(All()) }},
		{name: "bad add", add: []string{"NOPE"}, bad: true},
		{name: "bad drop", drop: []string{"NOPE"}, bad: true},
	}
	for _, tt := range tests {
		got, err := Resolve(tt.add, tt.drop, tt.privileged)
		if tt.bad {
			if err == nil {
				t.Errorf("%s: want error", tt.name)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if tt.check != nil {
			if !tt.check(got) {
				t.Errorf("%s: got %v", tt.name, got)
			}
		} else if !slices.Equal(got, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestMask(t *testing.T) {
	m, err := Mask(Default())
	if err != nil {
		t.Fatal(err)
	}
	// docker's default CapEff as seen in /proc/self/status
	if m != 0xa80425fb {
		t.Errorf("Mask(Default()) = %#x, want 0xa80425fb", m)
	}
	if _, err := Mask([]string{"CAP_NOPE"}); err == nil {
		t.Error("Mask of an unknown name must fail")
	}
}
