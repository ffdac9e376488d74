package image

import (
	"reflect"
	"testing"
)

func TestApplyChange(t *testing.T) {
	tests := []struct {
		change string
		check  func(c ImageConfig) bool
		bad    bool
	}{
		{`CMD ["sh"]`, func(c ImageConfig) bool { return reflect.DeepEqual(c.Cmd, []string{"sh"}) }, false},
		{`CMD echo hi`, func(c ImageConfig) bool { return reflect.DeepEqual(c.Cmd, []string{"/bin/sh", "-c", "echo hi"}) }, false},
		{`cmd ["a","b c"]`, func(c ImageConfig) bool { return reflect.DeepEqual(c.Cmd, []string{"a", "b c"}) }, false},
		{`CMD ["sh"`, nil, true},
		{`ENTRYPOINT ["echo"]`, func(c ImageConfig) bool {
			return reflect.DeepEqual(c.Entrypoint, []string{"echo"}) && c.Cmd == nil
		}, false},
		{`ENV A=b`, func(c ImageConfig) bool { return reflect.DeepEqual(c.Env, []string{"PATH=/bin", "A=b"}) }, false},
		{`ENV PATH=/x`, func(c ImageConfig) bool { return reflect.DeepEqual(c.Env, []string{"PATH=/x"}) }, false},
		{`ENV A="x y" B=z`, func(c ImageConfig) bool {
			return reflect.DeepEqual(c.Env, []string{"PATH=/bin", "A=x y", "B=z"})
		}, false},
		{`ENV A two words`, func(c ImageConfig) bool { return reflect.DeepEqual(c.Env, []string{"PATH=/bin", "A=two words"}) }, false},
		{`ENV A="x`, nil, true},
		{`WORKDIR /tmp`, func(c ImageConfig) bool { return c.WorkingDir == "/tmp" }, false},
		{`WORKDIR tmp`, nil, true},
		{`USER 1000:1000`, func(c ImageConfig) bool { return c.User == "1000:1000" }, false},
		{`USER`, nil, true},
		{`EXPOSE 80 53/udp`, func(c ImageConfig) bool { return len(c.ExposedPorts) == 2 }, false},
		{`LABEL a=b`, func(c ImageConfig) bool { return c.Labels["a"] == "b" }, false},
		{`VOLUME /data`, func(c ImageConfig) bool { _, ok := c.Volumes["/data"]; return ok }, false},
		{`RUN true`, nil, true},
		{`BOGUS`, nil, true},
	}
	for _, tt := range tests {
		c := ImageConfig{Env: []string{"PATH=/bin"}, Cmd: []string{"old"}}
		err := ApplyChange(&c, tt.change)
		if tt.bad {
			if err == nil {
				t.Errorf("ApplyChange(%q) succeeded, want error", tt.change)
			}
			continue
		}
		if err != nil {
			t.Errorf("ApplyChange(%q): %v", tt.change, err)
			continue
		}
		if !tt.check(c) {
			t.Errorf("ApplyChange(%q) gave %+v", tt.change, c)
		}
	}
}
