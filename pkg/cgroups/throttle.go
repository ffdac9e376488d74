package cgroups

import (
	"fmt"
	"strconv"
	"strings"

	units "github.com/docker/go-units"
	ocg "github.com/opencontainers/cgroups"
	"golang.org/x/sys/unix"
)

// Throttle is one --device-{read,write}-{bps,iops} DEVICE:RATE: a block device's I/O limit.
type Throttle struct {
	Path  string `json:"path"` // as given, for inspect
	Major int64  `json:"major"`
	Minor int64  `json:"minor"`
	Rate  uint64 `json:"rate"` // bytes or operations per second
}

// Throttles are the four throttle flags' limits.
type Throttles struct {
	ReadBps   []Throttle `json:"readBps,omitempty"`
	WriteBps  []Throttle `json:"writeBps,omitempty"`
	ReadIOps  []Throttle `json:"readIOps,omitempty"`
	WriteIOps []Throttle `json:"writeIOps,omitempty"`
}

func (t Throttles) any() bool {
	return len(t.ReadBps)+len(t.WriteBps)+len(t.ReadIOps)+len(t.WriteIOps) > 0
}

// parseThrottles reads the flags' values: DEVICE:RATE, a size (1mb, 512k) for bps, a number
// for iops; DEVICE must be a block device of this host.
func parseThrottles(readBps, writeBps, readIOps, writeIOps []string) (Throttles, error) {
	var t Throttles
	var err error
	for _, f := range []struct {
		flag string
		vals []string
		dst  *[]Throttle
		size bool
	}{
		{"--device-read-bps", readBps, &t.ReadBps, true},
		{"--device-write-bps", writeBps, &t.WriteBps, true},
		{"--device-read-iops", readIOps, &t.ReadIOps, false},
		{"--device-write-iops", writeIOps, &t.WriteIOps, false},
	} {
		for _, v := range f.vals {
			var th Throttle
			if th, err = parseThrottle(f.flag, v, f.size); err != nil {
				return t, err
			}
			*f.dst = mergeThrottle(*f.dst, th)
		}
	}
	return t, nil
}

func parseThrottle(flag, v string, size bool) (Throttle, error) {
	example := "/dev/sda:1mb"
	if !size {
		example = "/dev/sda:1000"
	}
	path, rate, ok := strings.Cut(v, ":")
	if !ok || path == "" || rate == "" {
		return Throttle{}, fmt.Errorf("invalid %s %q: use DEVICE:RATE, such as %s", flag, v, example)
	}
	th := Throttle{Path: path}
	if size {
		n, err := units.RAMInBytes(rate)
		if err != nil || n <= 0 {
			return th, fmt.Errorf("invalid %s %q: the rate is bytes per second, such as 512k, 1mb or 2g", flag, v)
		}
		th.Rate = uint64(n)
	} else {
		n, err := strconv.ParseUint(rate, 10, 64)
		if err != nil || n == 0 {
			return th, fmt.Errorf("invalid %s %q: the rate is a number of operations per second, such as 1000", flag, v)
		}
		th.Rate = n
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return th, fmt.Errorf("invalid %s %q: %s: %v (give a block device of this host, such as %s)", flag, v, path, err, strings.Split(example, ":")[0])
	}
	if st.Mode&unix.S_IFMT != unix.S_IFBLK {
		return th, fmt.Errorf("invalid %s %q: %s is not a block device (see lsblk for the disks)", flag, v, path)
	}
	th.Major, th.Minor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	return th, nil
}

// mergeThrottle puts th in list, replacing the one for the same device.
func mergeThrottle(list []Throttle, th Throttle) []Throttle {
	for i, o := range list {
		if o.Major == th.Major && o.Minor == th.Minor {
			out := append([]Throttle{}, list...)
			out[i] = th
			return out
		}
	}
	return append(append([]Throttle{}, list...), th)
}

// update is t with n's devices replacing or joining its own (skiff update).
func (t Throttles) update(n Throttles) Throttles {
	for _, p := range []struct{ dst, src *[]Throttle }{
		{&t.ReadBps, &n.ReadBps}, {&t.WriteBps, &n.WriteBps}, {&t.ReadIOps, &n.ReadIOps}, {&t.WriteIOps, &n.WriteIOps},
	} {
		for _, th := range *p.src {
			*p.dst = mergeThrottle(*p.dst, th)
		}
	}
	return t
}

// resources puts the throttles into r.
func (t Throttles) resources(r *ocg.Resources) {
	conv := func(list []Throttle) []*ocg.ThrottleDevice {
		var out []*ocg.ThrottleDevice
		for _, th := range list {
			out = append(out, ocg.NewThrottleDevice(th.Major, th.Minor, th.Rate))
		}
		return out
	}
	r.BlkioThrottleReadBpsDevice = conv(t.ReadBps)
	r.BlkioThrottleWriteBpsDevice = conv(t.WriteBps)
	r.BlkioThrottleReadIOPSDevice = conv(t.ReadIOps)
	r.BlkioThrottleWriteIOPSDevice = conv(t.WriteIOps)
}

// Strings are the throttles as the flags give them (DEVICE:RATE), for inspect.
func Strings(list []Throttle) []string {
	var out []string
	for _, th := range list {
		out = append(out, th.Path+":"+strconv.FormatUint(th.Rate, 10))
	}
	return out
}
