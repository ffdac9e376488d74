package container

import (
	"fmt"
	"io"
	"syscall"

	"github.com/skiff-project/skiff/pkg/signals"
)

// Attach shows a running detached container's output as it comes, until the container
// stops, and returns its exit code (docker attach). The output is read from the log the
// container's keeper writes, so a container run with --log-driver none cannot be attached to.
// With sigProxy, the signals skiff receives go to the container (docker's --sig-proxy).
// Standard input is not attached: a detached skiff container reads none.
func (r *Records) Attach(ref string, stdout, stderr io.Writer, sigProxy bool) (int, error) {
	in, err := r.Lookup(ref)
	if err != nil {
		return 125, err
	}
	if !in.Running {
		return 125, fmt.Errorf("you cannot attach to a stopped container %s: start it first (skiff start -a %s)", ref, ref)
	}
	switch in.Meta.LogDriver {
	case "":
		return 125, fmt.Errorf("container %s runs in the foreground of another skiff: its output goes there", ref)
	case "none":
		return 125, fmt.Errorf("container %s runs with --log-driver none: its output is not kept, so attach has nothing to show", ref)
	}
	if sigProxy {
		sigs, err := signals.Catch()
		if err != nil {
			return 125, err
		}
		defer sigs.Stop()
		go func() {
			for sig := range sigs.C {
				_ = signalKeeper(in.State.Pid, sig.(syscall.Signal))
			}
		}()
	}
	if err := r.Logs(in.ID, LogOptions{Follow: true, Tail: 0}, stdout, stderr); err != nil {
		return 125, err
	}
	return r.Wait(in.ID)
}
