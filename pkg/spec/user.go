package spec

import (
	"strconv"
	"strings"

	rspec "github.com/opencontainers/runtime-spec/specs-go"
)

// ResolvedUser is the identity the command runs as.
type ResolvedUser struct {
	User rspec.User
	Home string
}

type passwdEntry struct {
	name     string
	uid, gid uint32
	home     string
}

type groupEntry struct {
	name    string
	gid     uint32
	members []string
}

func parsePasswd(b []byte) []passwdEntry {
	var out []passwdEntry
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 7 || strings.HasPrefix(line, "#") {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		out = append(out, passwdEntry{f[0], uint32(uid), uint32(gid), f[5]})
	}
	return out
}

func parseGroup(b []byte) []groupEntry {
	var out []groupEntry
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 4 || strings.HasPrefix(line, "#") {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		var members []string
		if f[3] != "" {
			members = strings.Split(f[3], ",")
		}
		out = append(out, groupEntry{f[0], uint32(gid), members})
	}
	return out
}

func read(files Files, name string) []byte {
	if files == nil {
		return nil
	}
	b, _ := files.ReadFile(name)
	return b
}

// ResolveUser resolves docker's -u forms (name, uid, name:group, uid:gid, and mixes) against
// the container's /etc/passwd and /etc/group. A numeric uid missing from passwd runs with gid 0
// and HOME=/, as in docker; an unknown name is an error.
func ResolveUser(spec string, files Files) (ResolvedUser, error) {
	if spec == "" {
		spec = "0"
	}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" || (hasGroup && groupPart == "") {
		return ResolvedUser{}, errorf("invalid user %q: use NAME|UID[:GROUP|GID]", spec)
	}
	passwd := parsePasswd(read(files, "/etc/passwd"))
	groups := parseGroup(read(files, "/etc/group"))

	r := ResolvedUser{Home: "/"}
	var name string
	if uid, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		r.User.UID = uint32(uid)
		for _, p := range passwd {
			if p.uid == r.User.UID {
				r.User.GID, r.Home, name = p.gid, p.home, p.name
				break
			}
		}
	} else {
		found := false
		for _, p := range passwd {
			if p.name == userPart {
				r.User.UID, r.User.GID, r.Home, name = p.uid, p.gid, p.home, p.name
				found = true
				break
			}
		}
		if !found {
			return ResolvedUser{}, errorf("user %q not found in the image's /etc/passwd: give a numeric uid[:gid] instead", userPart)
		}
	}
	if r.Home == "" {
		r.Home = "/"
	}
	if hasGroup {
		if gid, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			r.User.GID = uint32(gid)
		} else {
			found := false
			for _, g := range groups {
				if g.name == groupPart {
					r.User.GID = g.gid
					found = true
					break
				}
			}
			if !found {
				return ResolvedUser{}, errorf("group %q not found in the image's /etc/group: give a numeric gid instead", groupPart)
			}
		}
	}
	// supplementary groups: where the user is listed by name (not with an explicit group)
	if name != "" && !hasGroup {
		for _, g := range groups {
			for _, m := range g.members {
				if m == name && g.gid != r.User.GID {
					r.User.AdditionalGids = append(r.User.AdditionalGids, g.gid)
				}
			}
		}
	}
	return r, nil
}

// ResolveGroup resolves a --group-add: a group name of the container's /etc/group, or a gid.
func ResolveGroup(g string, files Files) (uint32, error) {
	if gid, err := strconv.ParseUint(g, 10, 32); err == nil {
		return uint32(gid), nil
	}
	for _, e := range parseGroup(read(files, "/etc/group")) {
		if e.name == g {
			return e.gid, nil
		}
	}
	return 0, errorf("--group-add %s: no such group in the image's /etc/group: give a numeric gid instead", g)
}
