package transfer

import (
	"testing"

	"github.com/containers/image/v5/types"
)

func TestSystemContextTLS(t *testing.T) {
	tests := []struct {
		verify  types.OptionalBool
		skip    types.OptionalBool
		ociSkip bool
	}{
		{types.OptionalBoolUndefined, types.OptionalBoolUndefined, false},
		{types.OptionalBoolTrue, types.OptionalBoolFalse, false},
		{types.OptionalBoolFalse, types.OptionalBoolTrue, true},
	}
	for _, tt := range tests {
		sys, err := Options{TLSVerify: tt.verify}.SystemContext()
		if err != nil {
			t.Fatal(err)
		}
		if sys.DockerInsecureSkipTLSVerify != tt.skip || sys.OCIInsecureSkipTLSVerify != tt.ociSkip {
			t.Errorf("--tls-verify %v: skip %v/%v, want %v/%v", tt.verify, sys.DockerInsecureSkipTLSVerify, sys.OCIInsecureSkipTLSVerify, tt.skip, tt.ociSkip)
		}
	}
}

func TestPlatformAndCreds(t *testing.T) {
	for _, tt := range []struct {
		platform, creds   string
		os, arch, variant string
		bad               bool
	}{
		{"linux/arm64", "", "linux", "arm64", "", false},
		{"linux/arm/v7", "u:p", "linux", "arm", "v7", false},
		{"linux", "", "", "", "", true},
		{"linux/", "", "", "", "", true},
		{"a/b/c/d", "", "", "", "", true},
		{"", ":p", "", "", "", true},
	} {
		sys, err := Options{Platform: tt.platform, Creds: tt.creds}.SystemContext()
		if tt.bad {
			if err == nil {
				t.Errorf("platform %q creds %q: want an error", tt.platform, tt.creds)
			}
			continue
		}
		if err != nil || sys.OSChoice != tt.os || sys.ArchitectureChoice != tt.arch || sys.VariantChoice != tt.variant {
			t.Errorf("platform %q: %+v, %v", tt.platform, sys, err)
		}
		if tt.creds == "u:p" && (sys.DockerAuthConfig == nil || sys.DockerAuthConfig.Username != "u" || sys.DockerAuthConfig.Password != "p") {
			t.Errorf("creds not passed: %+v", sys.DockerAuthConfig)
		}
	}
}
