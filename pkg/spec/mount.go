package spec

import (
	"path"
	"strconv"
	"strings"
)

// ParseMount reads one --mount option (docker's type=bind|volume|tmpfs,source=,target=,...)
// and returns it in the form of the shorter flags: a -v value for bind and volume mounts
// ("SRC:DST[:OPTS]", or "DST" alone for an anonymous volume), or a --tmpfs value.
func ParseMount(s string) (volume, tmpfs string, err error) {
	var typ, src, dst string
	var ro, nocopy bool
	var tmpOpts []string
	bindOpts := []string{}
	for _, field := range strings.Split(s, ",") {
		k, v, hasValue := strings.Cut(field, "=")
		k = strings.ToLower(strings.TrimSpace(k))
		switch k {
		case "type":
			typ = v
		case "source", "src":
			src = v
		case "target", "destination", "dst":
			dst = v
		case "readonly", "ro":
			if ro, err = mountBool(s, k, v, hasValue); err != nil {
				return "", "", err
			}
		case "volume-nocopy":
			if nocopy, err = mountBool(s, k, v, hasValue); err != nil {
				return "", "", err
			}
		case "bind-propagation":
			switch v {
			case "private", "rprivate", "shared", "rshared", "slave", "rslave":
				bindOpts = append(bindOpts, v)
			default:
				return "", "", errorf("--mount %s: unknown bind-propagation %q: use private, rprivate, shared, rshared, slave or rslave", s, v)
			}
		case "consistency", "bind-nonrecursive", "volume-driver", "volume-label", "volume-opt", "relabel":
			// accepted as docker does on Linux (consistency) or ignored for the local driver
		case "tmpfs-size":
			tmpOpts = append(tmpOpts, "size="+v)
		case "tmpfs-mode":
			if _, e := strconv.ParseUint(v, 8, 32); e != nil {
				return "", "", errorf("--mount %s: tmpfs-mode %q is not an octal mode", s, v)
			}
			tmpOpts = append(tmpOpts, "mode="+v)
		case "":
			return "", "", errorf("--mount %s: empty field: use type=bind|volume|tmpfs,source=...,target=...", s)
		default:
			return "", "", errorf("--mount %s: unknown field %q: use type, source, target, readonly, volume-nocopy, bind-propagation, tmpfs-size or tmpfs-mode", s, k)
		}
	}
	if dst == "" {
		return "", "", errorf("--mount %s: target is missing: add target=/path/in/container", s)
	}
	if !path.IsAbs(dst) {
		return "", "", errorf("--mount %s: target %q is not an absolute path", s, dst)
	}
	if strings.Contains(src, ":") || strings.Contains(dst, ":") {
		return "", "", errorf("--mount %s: paths with ':' are not supported", s)
	}
	opts := bindOpts
	if ro {
		opts = append(opts, "ro")
	}
	switch typ {
	case "bind":
		if src == "" {
			return "", "", errorf("--mount %s: a bind mount needs source=/host/path", s)
		}
		if !path.IsAbs(src) {
			return "", "", errorf("--mount %s: bind source %q is not an absolute path", s, src)
		}
		return join(src, dst, opts), "", nil
	case "volume":
		if src == "" {
			if len(opts) > 0 || nocopy {
				return "", "", errorf("--mount %s: options of an anonymous volume are not supported: name the volume (source=NAME)", s)
			}
			return dst, "", nil
		}
		if strings.HasPrefix(src, "/") || strings.HasPrefix(src, ".") {
			return "", "", errorf("--mount %s: volume source %q is a path: use type=bind for host directories", s, src)
		}
		if nocopy {
			opts = append(opts, "nocopy")
		}
		return join(src, dst, opts), "", nil
	case "tmpfs":
		if src != "" {
			return "", "", errorf("--mount %s: a tmpfs takes no source", s)
		}
		if ro {
			tmpOpts = append(tmpOpts, "ro")
		}
		if len(tmpOpts) == 0 {
			return "", dst, nil
		}
		return "", dst + ":" + strings.Join(append([]string{"rw", "noexec"}, tmpOpts...), ","), nil
	case "":
		return "", "", errorf("--mount %s: type is missing: add type=bind, type=volume or type=tmpfs", s)
	default:
		return "", "", errorf("--mount %s: unsupported type %q: use bind, volume or tmpfs", s, typ)
	}
}

func join(src, dst string, opts []string) string {
	if len(opts) == 0 {
		return src + ":" + dst
	}
	return src + ":" + dst + ":" + strings.Join(opts, ",")
}

func mountBool(s, k, v string, hasValue bool) (bool, error) {
	if !hasValue {
		return true, nil
	}
	switch strings.ToLower(v) {
	case "1", "true":
		return true, nil
	case "0", "false":
		return false, nil
	}
	return false, errorf("--mount %s: %s=%q: use true or false", s, k, v)
}
