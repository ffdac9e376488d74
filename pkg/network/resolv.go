package network

import "strings"

// ResolvConf makes a container's resolv.conf from the host's: its name servers become dns
// (--dns) when given, else helper (the helper's forwarder) when given, else stay the host's;
// its search domains become search (--dns-search; "." for none) when given; options (--dns-option)
// replace the host's when given.
func ResolvConf(host string, helper, dns, search, options []string) string {
	var servers, hostSearch, hostOptions []string
	for _, line := range strings.Split(host, "\n") {
		f := strings.Fields(line)
		if len(f) < 2 || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], ";") {
			continue
		}
		switch f[0] {
		case "nameserver":
			servers = append(servers, f[1])
		case "search", "domain":
			hostSearch = f[1:]
		case "options":
			hostOptions = append(hostOptions, f[1:]...)
		}
	}
	switch {
	case len(dns) > 0:
		servers = dns
	case len(helper) > 0:
		servers = helper
	}
	if len(search) > 0 {
		hostSearch = nil
		for _, s := range search {
			if s != "." {
				hostSearch = append(hostSearch, s)
			}
		}
	}
	if len(options) > 0 {
		hostOptions = options
	}
	var b strings.Builder
	if len(hostSearch) > 0 {
		b.WriteString("search " + strings.Join(hostSearch, " ") + "\n")
	}
	for _, s := range servers {
		b.WriteString("nameserver " + s + "\n")
	}
	if len(hostOptions) > 0 {
		b.WriteString("options " + strings.Join(hostOptions, " ") + "\n")
	}
	return b.String()
}
