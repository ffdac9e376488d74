package store

import (
	"os"
	"testing"

	"github.com/containers/storage/pkg/reexec"
)

// TestMain lets containers/storage re-execute the test binary for chrooted layer extraction.
func TestMain(m *testing.M) {
	if reexec.Init() {
		return
	}
	os.Exit(m.Run())
}
