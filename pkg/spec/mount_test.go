package spec

import (
	"strings"
	"testing"
)

func TestParseMount(t *testing.T) {
	for _, tt := range []struct {
		in, volume, tmpfs string
		err               string // a part of the error; "" when none
	}{
		{in: "type=bind,source=/h,target=/c", volume: "/h:/c"},
		{in: "type=bind,src=/h,dst=/c,readonly", volume: "/h:/c:ro"},
		{in: "type=bind,src=/h,dst=/c,ro=true,bind-propagation=rslave", volume: "/h:/c:rslave,ro"},
		{in: "type=bind,src=/h,dst=/c,readonly=false", volume: "/h:/c"},
		{in: "type=volume,source=data,target=/data", volume: "data:/data"},
		{in: "type=volume,source=data,target=/data,volume-nocopy", volume: "data:/data:nocopy"},
		{in: "type=volume,target=/data", volume: "/data"},
		{in: "type=tmpfs,target=/t", tmpfs: "/t"},
		{in: "type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=1770", tmpfs: "/t:rw,noexec,size=1m,mode=1770"},
		{in: "source=/h,target=/c", err: "type is missing"},
		{in: "type=nfs,target=/c", err: "unsupported type"},
		{in: "type=bind,target=/c", err: "needs source"},
		{in: "type=bind,source=rel,target=/c", err: "not an absolute path"},
		{in: "type=bind,source=/h", err: "target is missing"},
		{in: "type=bind,source=/h,target=c", err: "not an absolute path"},
		{in: "type=volume,source=/h,target=/c", err: "type=bind"},
		{in: "type=tmpfs,source=x,target=/c", err: "no source"},
		{in: "type=tmpfs,target=/c,tmpfs-mode=9z", err: "octal"},
		{in: "type=bind,src=/h,dst=/c,readonly=maybe", err: "true or false"},
		{in: "type=bind,src=/h,dst=/c,colour=red", err: "unknown field"},
		{in: "type=bind,src=/h,dst=/c,bind-propagation=odd", err: "bind-propagation"},
		{in: "type=bind,,src=/h,dst=/c", err: "empty field"},
	} {
		v, tm, err := ParseMount(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "\n") {
				t.Errorf("ParseMount(%q) err = %v, want one line with %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || v != tt.volume || tm != tt.tmpfs {
			t.Errorf("ParseMount(%q) = %q, %q, %v; want %q, %q", tt.in, v, tm, err, tt.volume, tt.tmpfs)
		}
	}
}
