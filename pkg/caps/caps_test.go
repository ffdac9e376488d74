package caps

import (
	"slices"
	"strings"
	"testing"
)

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func without(s []string, drop ...string) []string {
	return slices.DeleteFunc(slices.Clone(s), func(c string) bool { return slices.Contains(drop, c) })
}

func TestDefault(t *testing.T) {
	d := Default()
	if len(d) != 14 {
		t.Fatalf("Default() has %d capabilities, want docker's 14", len(d))
	}
	all := All()
	for _, c := range d {
		if !slices.Contains(all, c) {
			t.Errorf("default capability %s is not in All()", c)
		}
	}
	d[0] = "changed"
	if Default()[0] != "CAP_CHOWN" {
		t.Error("Default() returns a shared slice")
	}
}

func TestAll(t *testing.T) {
	all := All()
	if !slices.IsSorted(all) || len(slices.Compact(slices.Clone(all))) != len(all) {
		t.Errorf("All() not sorted/unique: %v", all)
	}
	for _, c := range []string{"CAP_CHOWN", "CAP_SYS_ADMIN", "CAP_NET_ADMIN", "CAP_AUDIT_READ"} {
		if !slices.Contains(all, c) {
			t.Errorf("All() lacks %s", c)
		}
	}
	if n := int(lastCap()) + 1; len(all) > n {
		t.Errorf("All() has %d capabilities, kernel knows %d", len(all), n)
	}
}

func TestNormalize(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"chown", "CAP_CHOWN"},
		{"CHOWN", "CAP_CHOWN"},
		{"cap_chown", "CAP_CHOWN"},
		{"CAP_CHOWN", "CAP_CHOWN"},
		{" Net_Admin ", "CAP_NET_ADMIN"},
		{"all", "ALL"},
		{"ALL", "ALL"},
		{"FOO", ""},
		{"CAP_", ""},
		{"", ""},
	} {
		got, err := Normalize(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("Normalize(%q) = %q, want an error", tt.in, got)
			} else if !strings.Contains(err.Error(), `"`+tt.in+`"`) || !strings.Contains(err.Error(), "capabilities(7)") {
				t.Errorf("Normalize(%q) error %q does not name the input and capabilities(7)", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := Normalize("FOO"); err == nil || err.Error() != `unknown capability "FOO": see capabilities(7) for valid names, e.g. NET_ADMIN` {
		t.Errorf("Normalize(FOO) error = %v", err)
	}
}

func TestResolve(t *testing.T) {
	def := sorted(Default())
	all := All()
	tests := []struct {
		name       string
		add, drop  []string
		privileged bool
		want       []string
		wantErr    bool
	}{
		{name: "default", want: def},
		{name: "drop ALL", drop: []string{"ALL"}, want: []string{}},
		{name: "drop ALL add one", add: []string{"net_admin"}, drop: []string{"all"}, want: []string{"CAP_NET_ADMIN"}},
		{name: "drop ALL add two, dup", add: []string{"chown", "CAP_KILL", "kill"}, drop: []string{"ALL"}, want: []string{"CAP_CHOWN", "CAP_KILL"}},
		{name: "drop one", drop: []string{"NET_RAW"}, want: without(def, "CAP_NET_RAW")},
		{name: "drop one not in set", drop: []string{"SYS_ADMIN"}, want: def},
		{name: "add one", add: []string{"SYS_ADMIN"}, want: sorted(append(Default(), "CAP_SYS_ADMIN"))},
		{name: "add existing", add: []string{"CHOWN"}, want: def},
		{name: "add and drop same", add: []string{"SYS_ADMIN"}, drop: []string{"cap_sys_admin"}, want: sorted(append(Default(), "CAP_SYS_ADMIN"))},
		{name: "add ALL", add: []string{"ALL"}, want: all},
		{name: "add ALL drop one", add: []string{"ALL"}, drop: []string{"SYS_ADMIN"}, want: without(all, "CAP_SYS_ADMIN")},
		{name: "add ALL drop ALL", add: []string{"ALL"}, drop: []string{"ALL"}, want: all},
		{name: "privileged", privileged: true, want: all},
		{name: "privileged drop one", privileged: true, drop: []string{"SYS_ADMIN"}, want: without(all, "CAP_SYS_ADMIN")},
		{name: "bad add", add: []string{"NOPE"}, wantErr: true},
		{name: "bad drop", drop: []string{"NOPE"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resolve(tt.add, tt.drop, tt.privileged)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got == nil || !slices.Equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMask(t *testing.T) {
	for _, tt := range []struct {
		name    string
		in      []string
		want    uint64
		wantErr bool
	}{
		// docker's default CapEff/CapBnd as /proc/self/status shows it in a container
		{name: "docker default", in: Default(), want: 0xa80425fb},
		{name: "empty", in: nil, want: 0},
		{name: "chown", in: []string{"CAP_CHOWN"}, want: 1},
		{name: "any spelling", in: []string{"sys_admin", "CAP_SYS_ADMIN"}, want: 1 << 21},
		{name: "unknown", in: []string{"CAP_NOPE"}, wantErr: true},
		{name: "ALL", in: []string{"ALL"}, wantErr: true},
	} {
		got, err := Mask(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: Mask(%v) = %#x, %v; want %#x, error %v", tt.name, tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}
