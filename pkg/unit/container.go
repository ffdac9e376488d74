package unit

import (
	"fmt"
	"io"
	"strings"
)

// ContainerKeys are the [Container] keys a .container file may use (podman quadlet's names),
// with what each becomes on skiff run's command line.
var ContainerKeys = []string{"Image", "Exec", "Environment", "EnvironmentFile", "Volume", "PublishPort", "Network",
	"User", "Group", "WorkingDir", "Label", "Notify", "ContainerName", "SkiffArgs", "PodmanArgs"}

// Options are what the unit needs besides the .container file.
type Options struct {
	Skiff string // the absolute path of the skiff binary ExecStart runs
	// StopTimeout is the container's stop timeout in seconds: TimeoutStopSec gives skiff
	// ten more to remove what it leaves.
	StopTimeout int
	// Source is the .container file's path, for SourcePath= ("" leaves it out).
	Source string
}

// FromContainer turns a .container file (name is for errors, e.g. web.container) into a
// service unit: [Unit], [Service] and [Install] pass through; [Container] becomes ExecStart's
// `skiff run`. An unknown section or key, or a missing Image, is an error naming it.
func FromContainer(r io.Reader, name string, o Options) (*File, error) {
	in, err := Parse(r, name)
	if err != nil {
		return nil, err
	}
	c := in.Lookup("Container")
	if c == nil {
		return nil, fmt.Errorf("%s: no [Container] section: a .container file needs one, with Image=", name)
	}
	for _, s := range in.Sections {
		switch s.Name {
		case "Unit", "Service", "Install", "Container":
		default:
			return nil, fmt.Errorf("%s: unknown section [%s]: use [Unit], [Container], [Service] and [Install]", name, s.Name)
		}
	}
	args := []string{o.Skiff, "run", "--replace", "--rm"}
	var image, user, group string
	var exec, extra []string
	ctrName := "systemd-%N"
	for _, e := range c.Entries {
		at := fmt.Sprintf("%s:%d", name, e.Line)
		words := func() ([]string, error) {
			w, err := SplitWords(e.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: %s=: %w", at, e.Key, err)
			}
			return w, nil
		}
		switch e.Key {
		case "Image":
			image = e.Value
		case "Exec":
			if exec, err = words(); err != nil {
				return nil, err
			}
		case "Environment":
			w, err := words()
			if err != nil {
				return nil, err
			}
			for _, kv := range w {
				args = append(args, "-e", kv)
			}
		case "EnvironmentFile":
			args = append(args, "--env-file", e.Value)
		case "Volume":
			args = append(args, "-v", e.Value)
		case "PublishPort":
			args = append(args, "-p", e.Value)
		case "Network":
			args = append(args, "--network", e.Value)
		case "User":
			user = e.Value
		case "Group":
			group = e.Value
		case "WorkingDir":
			args = append(args, "-w", e.Value)
		case "Label":
			w, err := words()
			if err != nil {
				return nil, err
			}
			for _, kv := range w {
				args = append(args, "--label", kv)
			}
		case "Notify":
			switch strings.ToLower(e.Value) {
			case "yes", "true", "1", "on":
				args = append(args, "--sdnotify=container")
			case "no", "false", "0", "off", "":
			default:
				return nil, fmt.Errorf("%s: Notify=%s: use yes or no", at, e.Value)
			}
		case "ContainerName":
			ctrName = e.Value
		case "SkiffArgs", "PodmanArgs":
			w, err := words()
			if err != nil {
				return nil, err
			}
			extra = append(extra, w...)
		default:
			return nil, fmt.Errorf("%s: unknown key %s in [Container]: use one of %s", at, e.Key, strings.Join(ContainerKeys, ", "))
		}
	}
	if image == "" {
		return nil, fmt.Errorf("%s: [Container] has no Image=: name the image to run", name)
	}
	if user != "" || group != "" {
		u := user
		if group != "" {
			u += ":" + group
		}
		args = append(args, "--user", u)
	}
	args = append(args, "--name", ctrName)
	args = append(append(args, extra...), image)
	args = append(args, exec...)

	out := &File{}
	u := out.Section("Unit")
	if s := in.Lookup("Unit"); s != nil {
		u.Entries = append(u.Entries, s.Entries...)
	}
	if o.Source != "" {
		u.Default("SourcePath", o.Source)
	}
	svc := out.Section("Service")
	if s := in.Lookup("Service"); s != nil {
		svc.Entries = append(svc.Entries, s.Entries...)
	}
	ServiceDefaults(svc, o.StopTimeout)
	svc.Add("ExecStart", Quote(args))
	svc.Add("ExecStopPost", "-"+Quote([]string{o.Skiff, "rm", "-f", ctrName}))
	if s := in.Lookup("Install"); s != nil {
		out.Section("Install").Entries = append([]Entry{}, s.Entries...)
	}
	return out, nil
}

// ServiceDefaults are the [Service] settings a unit running `skiff run` in the foreground
// needs, where the unit does not set them: skiff is the main process and says READY=1 (its
// own, or the container's relayed), systemd's SIGTERM goes to skiff alone (which passes it on
// and kills the container after its stop timeout), the unit's cgroup is skiff's to split.
func ServiceDefaults(svc *Section, stopTimeout int) {
	svc.Default("Type", "notify")
	svc.Default("NotifyAccess", "all")
	svc.Default("KillMode", "mixed")
	svc.Default("Delegate", "yes")
	svc.Default("TimeoutStopSec", fmt.Sprint(stopTimeout+10))
	svc.Add("Environment", "SKIFF_SYSTEMD_UNIT=%n")
	svc.Default("SyslogIdentifier", "%N")
}
