package build

import (
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
)

func TestRunFlags(t *testing.T) {
	for _, c := range []struct {
		run     string
		targets []string // the mounts' targets, after the working directory /w
		network string
		err     string
	}{
		{run: "RUN true", network: "pasta"},
		{run: "RUN --mount=type=cache,target=/root/.cache true", targets: []string{"/root/.cache"}, network: "pasta"},
		{run: "RUN --mount=type=cache,target=c --mount=type=tmpfs,target=/t/ true", targets: []string{"/w/c", "/t"}, network: "pasta"},
		{run: "RUN --mount=source=x,target=/x --network=none true", targets: []string{"/x"}, network: "none"},
		{run: "RUN --network=host true", network: "host"},
		{run: "RUN --network=default true", network: "pasta"},
		{run: "RUN --mount=type=secret,id=a true", err: "type=secret"},
		{run: "RUN --mount=type=ssh true", err: "type=ssh"},
		{run: "RUN --mount=type=tmpfs true", err: "needs target"},
		{run: "RUN --mount=type=cache,target=/c,from=base true", err: "from=base"},
		{run: "RUN --mount=type=cache,target=/c,uid=1000 true", err: "uid"},
		{run: "RUN --mount=type=bind,source=a,target=/ true", err: "target=/"},
	} {
		d, err := ParseDockerfile("Dockerfile", []byte("FROM scratch\n"+c.run+"\n"))
		if err != nil {
			t.Errorf("%s: parse: %v", c.run, err)
			continue
		}
		run := d.Stages[0].Commands[0].(*instructions.RunCommand)
		if err := run.Expand(func(w string) (string, error) { return w, nil }); err != nil { // as the builder does
			t.Errorf("%s: expand: %v", c.run, err)
			continue
		}
		b := &builder{o: Options{Network: "pasta"}}
		f, err := b.runFlagsOf(run, "/w")
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%s: error %v, want one naming %q", c.run, err, c.err)
			}
			continue
		}
		var targets []string
		for _, m := range f.mounts {
			targets = append(targets, m.Target)
		}
		if err != nil || strings.Join(targets, " ") != strings.Join(c.targets, " ") || f.network != c.network {
			t.Errorf("%s: targets %q network %q err %v; want %q %q", c.run, targets, f.network, err, c.targets, c.network)
		}
	}
}
