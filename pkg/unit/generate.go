package unit

import (
	"fmt"
	"strings"
)

// Container describes an existing container for its unit (`skiff generate systemd`).
type Container struct {
	Skiff string // the absolute path of skiff
	// Ref is how the unit names the container: its name (--name) or its ID.
	Ref string
	// Globals are skiff's global flags the container was made with (--root ...).
	Globals []string
	// RunArgs, for a unit that makes the container anew at each start (--new), are run's
	// flags and IMAGE [COMMAND...] without those the unit sets (-d, --rm, --name, ...).
	RunArgs     []string
	StopTimeout int
	Image       string
}

// ServiceName is the unit's name, as podman's: container-REF.service.
func (c Container) ServiceName() string { return "container-" + c.Ref + ".service" }

// ForContainer writes the unit of a container: with newEach (--new) ExecStart makes it anew
// (`skiff run --replace --rm --name REF ...`), otherwise the unit starts and stops the existing
// container (`skiff start -a`, `skiff stop`).
func ForContainer(c Container, newEach bool) *File {
	f := &File{}
	u := f.Section("Unit")
	u.Add("Description", "skiff container "+c.Ref+" ("+c.Image+")")
	u.Add("Wants", "network-online.target")
	u.Add("After", "network-online.target")
	svc := f.Section("Service")
	skiff := append([]string{c.Skiff}, c.Globals...)
	args := func(a ...string) string { return QuoteLiteral(append(append([]string{}, skiff...), a...)) }
	if newEach {
		svc.Add("Restart", "on-failure")
		ServiceDefaults(svc, c.StopTimeout)
		run := append([]string{"run", "--replace", "--rm", "--name", c.Ref}, c.RunArgs...)
		svc.Add("ExecStart", args(run...))
		svc.Add("ExecStopPost", "-"+args("rm", "-f", c.Ref))
	} else {
		svc.Add("Restart", "on-failure")
		ServiceDefaults(svc, c.StopTimeout)
		svc.Add("ExecStart", args("start", "-a", c.Ref))
		svc.Add("ExecStop", args("stop", "-t", fmt.Sprint(c.StopTimeout), c.Ref))
	}
	f.Section("Install").Add("WantedBy", "default.target")
	return f
}

// QuoteLiteral is Quote for arguments that are meant as they are: systemd's % specifiers are
// escaped too.
func QuoteLiteral(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = strings.ReplaceAll(a, "%", "%%")
	}
	return Quote(q)
}
