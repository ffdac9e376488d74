package container

import (
	"fmt"
	"net/netip"
	"strings"
)

// linkEnv returns docker's environment variables for --link NAME[:ALIAS] from this container,
// named self: ALIAS_NAME=/self/alias and ALIAS_ENV_KEY for the linked container's environment
// (but HOME and PATH). The linked container must be running. Its ports and an /etc/hosts
// entry need an address, which containers get with networking (not yet).
func (r *Records) linkEnv(links []string, self string) ([]string, error) {
	var env []string
	for _, l := range links {
		name, alias, _ := strings.Cut(l, ":")
		if name == "" {
			return nil, fmt.Errorf("invalid --link %q: use NAME[:ALIAS]", l)
		}
		if alias == "" {
			alias = name
		}
		in, err := r.Lookup(name)
		if err != nil {
			return nil, fmt.Errorf("--link %s: %w", l, err)
		}
		if !in.Running {
			return nil, fmt.Errorf("--link %s: container %s is not running: start it first", l, name)
		}
		ec, err := readExecConfig(r.Path(in.ID))
		if err != nil {
			return nil, fmt.Errorf("--link %s: %w", l, err)
		}
		prefix := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(alias))
		env = append(env, prefix+"_NAME=/"+self+"/"+alias)
		if ec.Process != nil {
			for _, kv := range ec.Process.Env {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "HOME" || k == "PATH" {
					continue
				}
				env = append(env, prefix+"_ENV_"+k+"="+v)
			}
		}
	}
	return env, nil
}

// hostLines checks --add-host HOST:IP options and returns their /etc/hosts lines.
func hostLines(adds []string) (string, error) {
	var s strings.Builder
	for _, a := range adds {
		i := strings.Index(a, ":")
		if i <= 0 {
			return "", fmt.Errorf("invalid --add-host %q: use HOST:IP", a)
		}
		host, ip := a[:i], strings.Trim(a[i+1:], "[]")
		if _, err := netip.ParseAddr(ip); err != nil || strings.ContainsAny(host, " \t\n") {
			return "", fmt.Errorf("invalid --add-host %q: use HOST:IP with an IPv4 or IPv6 address", a)
		}
		fmt.Fprintf(&s, "%s\t%s\n", ip, host)
	}
	return s.String(), nil
}
