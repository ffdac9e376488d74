package image

import (
	"testing"

	"github.com/containers/image/v5/docker/reference"
)

// TestParseAgreesWithContainersImage checks skiff's parser against containers/image's on inputs
// both accept and inputs both must refuse.
func TestParseAgreesWithContainersImage(t *testing.T) {
	inputs := []string{
		"busybox", "busybox:1.36", "library/busybox", "me/app", "me/app:v1", "quay.io/a/b/c:d",
		"localhost/x", "localhost:5000/x:y", "127.0.0.1:5000/a", "[::1]/a", "[::1]:5000/a:b",
		"a.b-c_d__e/f", "a--b", "a---b/c", "docker.io/x", "index.docker.io/me/x", "Reg.io/x",
		"x@sha256:0123456789012345678901234567890123456789012345678901234567890123",
		"x:t@sha256:0123456789012345678901234567890123456789012345678901234567890123",
		"UPPER", "UPPER/Case::x", "a/", "/a", "a//b", "a:", ":t", "a b", "-a", "a-", "a_", "_a",
		"a:-t", "a:t.", "a..b", "a/b.", "x@sha256:short", "x@", "a:b:c", "ex ample.com/a",
	}
	for _, in := range inputs {
		ours, err1 := Parse(in, false)
		theirs, err2 := reference.ParseNormalizedNamed(in)
		if (err1 != nil) != (err2 != nil) {
			t.Errorf("%q: skiff err=%v, containers/image err=%v", in, err1, err2)
			continue
		}
		if err1 != nil {
			continue
		}
		if _, ok := theirs.(reference.Digested); !ok {
			theirs = reference.TagNameOnly(theirs)
		}
		if ours.Named.String() != theirs.String() {
			t.Errorf("%q: skiff %s, containers/image %s", in, ours.Named.String(), theirs.String())
		}
	}
}
