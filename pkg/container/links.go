package container

import (
	"fmt"
	"net/netip"
	"sort"
	"strconv"
	"strings"

	"github.com/skiff-project/skiff/pkg/catalog"
)

// linkEnv returns docker's environment variables for --link NAME[:ALIAS] from this container,
// named self: ALIAS_NAME=/self/alias and ALIAS_ENV_KEY for the linked container's environment
// (but HOME, PATH and what the runtime sets: HOSTNAME, container). The linked container must
// be running. When both are members of the same user network (userNet; "" when this container
// is on none), the linked one has an address there: then its ports come too, as docker's
// legacy links give them (the image's exposed ports and those it publishes:
// ALIAS_PORT=tcp://ADDR:PORT for the lowest, ALIAS_PORT_80_TCP=tcp://ADDR:80 with _ADDR, _PORT
// and _PROTO), and hosts has an /etc/hosts line for the alias and the name. skiff's other networks give each container a namespace of
// its own that no other container reaches, so there a link has no address.
func (r *Records) linkEnv(links []string, self, userNet string, cat *catalog.Catalog) (env []string, hosts string, err error) {
	for _, l := range links {
		name, alias, _ := strings.Cut(l, ":")
		if name == "" {
			return nil, "", fmt.Errorf("invalid --link %q: use NAME[:ALIAS]", l)
		}
		if alias == "" {
			alias = name
		}
		in, err := r.Lookup(name)
		if err != nil {
			return nil, "", fmt.Errorf("--link %s: %w", l, err)
		}
		if !in.Running {
			return nil, "", fmt.Errorf("--link %s: container %s is not running: start it first", l, name)
		}
		ec, err := readExecConfig(r.Path(in.ID))
		if err != nil {
			return nil, "", fmt.Errorf("--link %s: %w", l, err)
		}
		prefix := strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(alias))
		env = append(env, prefix+"_NAME=/"+self+"/"+alias)
		if st := ReadNetState(r.Path(in.ID)); userNet != "" && st.Network == userNet {
			addr := st.NetworkAddress
			if p, err := netip.ParsePrefix(addr); err == nil {
				addr = p.Addr().String()
			}
			if _, err := netip.ParseAddr(addr); err == nil {
				env = append(env, linkPortEnv(prefix, addr, linkPorts(in, st, cat))...)
				hosts += addr + "\t" + alias
				if alias != in.Meta.Name {
					hosts += " " + in.Meta.Name
				}
				hosts += "\n"
			}
		}
		if ec.Process != nil {
			for _, kv := range ec.Process.Env {
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "HOME" || k == "PATH" || k == "HOSTNAME" || k == "container" { // as docker: not what the run sets
					continue
				}
				env = append(env, prefix+"_ENV_"+k+"="+v)
			}
		}
	}
	return env, hosts, nil
}

// linkPort is a port of a linked container: its number and protocol.
type linkPort struct {
	port  int
	proto string
}

// linkPorts are a linked container's ports, lowest first: its image's exposed ones and those
// it publishes.
func linkPorts(in Info, st NetState, cat *catalog.Catalog) []linkPort {
	seen := map[linkPort]bool{}
	if cat != nil {
		if img, err := cat.Lookup(in.Meta.ImageID); err == nil {
			for e := range img.Config.Config.ExposedPorts {
				num, proto, _ := strings.Cut(e, "/")
				if proto == "" {
					proto = "tcp"
				}
				if n, err := strconv.Atoi(num); err == nil && n > 0 && n < 65536 {
					seen[linkPort{n, proto}] = true
				}
			}
		}
	}
	for _, p := range st.Ports {
		for i := 0; i < max(int(p.Count), 1); i++ {
			seen[linkPort{int(p.ContainerPort) + i, p.Protocol}] = true
		}
	}
	ports := make([]linkPort, 0, len(seen))
	for p := range seen {
		ports = append(ports, p)
	}
	sort.Slice(ports, func(i, j int) bool {
		if ports[i].port != ports[j].port {
			return ports[i].port < ports[j].port
		}
		return ports[i].proto < ports[j].proto
	})
	return ports
}

// linkPortEnv is docker's environment of a link's ports at addr.
func linkPortEnv(prefix, addr string, ports []linkPort) []string {
	var env []string
	for i, p := range ports {
		url := fmt.Sprintf("%s://%s:%d", p.proto, addr, p.port)
		if i == 0 {
			env = append(env, prefix+"_PORT="+url)
		}
		k := fmt.Sprintf("%s_PORT_%d_%s", prefix, p.port, strings.ToUpper(p.proto))
		env = append(env, k+"="+url, k+"_ADDR="+addr, k+"_PORT="+strconv.Itoa(p.port), k+"_PROTO="+p.proto)
	}
	return env
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
