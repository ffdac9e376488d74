package container

import (
	"encoding/json"

	rspec "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/skiff-project/skiff/pkg/image"
)

// Warm builds encoding/json's encoders and field tables for the types run encodes and decodes
// (the container's record, the image's config, what exec needs) ahead of need. In a fresh
// process the reflection behind a type's first Marshal costs more than the encoding itself;
// run calls it on a goroutine of its own while it parses its flags, on the CPU that is idle
// then.
func Warm() {
	_, _ = json.Marshal(Meta{Run: &RunConfig{}, Healthcheck: &image.HealthConfig{}})
	_, _ = json.Marshal(execConfig{Process: &rspec.Process{Capabilities: &rspec.LinuxCapabilities{}, Rlimits: []rspec.POSIXRlimit{{}}}})
	var c image.Config
	_ = json.Unmarshal([]byte(`{"config":{"Healthcheck":{}},"rootfs":{},"history":[{}]}`), &c)
}
