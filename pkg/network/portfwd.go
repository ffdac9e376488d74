package network

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/rootless-containers/rootlesskit/v2/pkg/port"
	"github.com/rootless-containers/rootlesskit/v2/pkg/port/builtin"
)

// PortForwarderName is the name skiff runs itself under to publish a slirp4netns
// container's ports with rootlesskit's builtin port driver (podman's rootlessport).
const PortForwarderName = "skiff-rootlessport"

// forwarderConfig is what skiff-rootlessport is told, as its one argument.
type forwarderConfig struct {
	StateDir string      `json:"stateDir"`
	Ports    []port.Spec `json:"ports"`
}

// startPortForwarder runs self as skiff-rootlessport: its parent driver listens on the host
// ports, and its child driver dials the container's address (childIP) inside the network
// namespace netns, one setns'd thread per connection, and hands the connection over. It is in
// skiff's user namespace, which owns the container's network namespace. It exits when exit
// reads end-of-file, that is when the container ends. startPortForwarder returns once every
// port is bound, or with why one could not be.
func startPortForwarder(self, runDir string, exit, netns *os.File, childIP string, ports []Port) error {
	dir, err := os.MkdirTemp(runDir, "rootlessport-")
	if err != nil {
		return fmt.Errorf("a directory for the port forwarder: %w", err)
	}
	cfg := forwarderConfig{StateDir: dir}
	for _, p := range ports {
		p.Each(func(q Port) {
			family := "4"
			if strings.Contains(q.HostIP, ":") {
				family = "6"
			}
			cfg.Ports = append(cfg.Ports, port.Spec{Proto: q.Protocol + family, ParentIP: q.BindIP(), ParentPort: int(q.HostPort),
				ChildIP: childIP, ChildPort: int(q.ContainerPort)})
		})
	}
	arg, err := json.Marshal(cfg)
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	readyR, readyW, err := os.Pipe()
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	defer readyR.Close()
	h, err := startHelper(self, []string{PortForwarderName, string(arg)}, []*os.File{exit, readyW, netns})
	readyW.Close()
	if err != nil {
		os.RemoveAll(dir)
		return err
	}
	defer h.close()
	// "ok", or the error, then end-of-file
	got := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(readyR, 4096))
		got <- string(b)
	}()
	select {
	case s := <-got:
		if s == "ok" {
			return nil
		}
		if s == "" {
			s = "the port forwarder failed: " + h.message("it exited without a message")
		}
		return errors.New(s)
	case <-time.After(30 * time.Second):
		return errors.New("the port forwarder did not bind the published ports in 30 s")
	}
}

// PortForwarderMain is skiff-rootlessport: descriptor 3 ends when the container does, 4 gets
// "ok" once the ports are bound (or the error), 5 is the container's network namespace.
func PortForwarderMain(args []string) int {
	exit, ready := os.NewFile(3, "exit"), os.NewFile(4, "ready")
	fail := func(err error) int {
		fmt.Fprint(ready, strings.TrimPrefix(err.Error(), "Error: "))
		return 1
	}
	var cfg forwarderConfig
	if len(args) != 1 {
		return fail(errors.New("skiff-rootlessport takes one argument: it is run by skiff"))
	}
	if err := json.Unmarshal([]byte(args[0]), &cfg); err != nil {
		return fail(fmt.Errorf("skiff-rootlessport: %w", err))
	}
	defer os.RemoveAll(cfg.StateDir)
	parent, err := builtin.NewParentDriver(io.Discard, cfg.StateDir)
	if err != nil {
		return fail(err)
	}
	quit := make(chan struct{})
	errs := make(chan error, 2)
	go func() {
		errs <- builtin.NewChildDriver(io.Discard).RunChildDriver(parent.OpaqueForChild(), quit, "/proc/self/fd/5")
	}()
	initDone := make(chan struct{}, 1)
	go func() { errs <- parent.RunParentDriver(initDone, quit, nil) }()
	select {
	case <-initDone:
	case err := <-errs:
		return fail(fmt.Errorf("the port forwarder: %v", err))
	}
	for _, s := range cfg.Ports {
		if _, err := parent.AddPort(context.Background(), s); err != nil {
			return fail(fmt.Errorf("publish %s:%d: %v", s.ParentIP, s.ParentPort, err))
		}
	}
	if _, err := ready.WriteString("ok"); err != nil {
		return 1
	}
	ready.Close()
	_, _ = io.Copy(io.Discard, exit) // until the container ends
	close(quit)
	return 0
}
