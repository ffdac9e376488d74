package transfer

import (
	"fmt"
	"os"

	"github.com/containers/image/v5/docker"
	"github.com/containers/image/v5/docker/reference"
	"github.com/containers/image/v5/manifest"
	"github.com/containers/image/v5/transports/alltransports"
	"github.com/containers/image/v5/types"
	imgspecv1 "github.com/opencontainers/image-spec/specs-go/v1"
)

// PushOptions are push's own flags.
type PushOptions struct {
	Format      string // oci or v2s2 ("" keeps the image's)
	Compression string // gzip or zstd
	DigestFile  string
}

// Push copies a stored image to dest (a registry reference, or TRANSPORT:REF such as
// oci-archive:/x.tar). Blobs the registry already has are not uploaded again.
func Push(o Options, po PushOptions, image, fullName, dest string) (string, error) {
	sys, err := o.SystemContext()
	if err != nil {
		return "", err
	}
	pc, err := o.policyContext(sys)
	if err != nil {
		return "", err
	}
	defer pc.Destroy()
	if dest == "" {
		dest = fullName
	}
	var dstRef types.ImageReference
	if ref, err := alltransports.ParseImageName(dest); err == nil && ref.Transport().Name() != "docker" {
		dstRef = ref
	} else {
		named, err := reference.ParseNormalizedNamed(trimDocker(dest))
		if err != nil {
			return "", fmt.Errorf("invalid destination %q: %v", dest, err)
		}
		if dstRef, err = docker.NewReference(reference.TagNameOnly(named)); err != nil {
			return "", err
		}
	}
	srcNamed, err := reference.ParseNormalizedNamed(fullName)
	if err != nil {
		return "", err
	}
	srcRef, err := o.storeRef(srcNamed)
	if err != nil {
		return "", err
	}
	co := o.copyOptions(sys)
	switch po.Format {
	case "":
	case "oci":
		co.ForceManifestMIMEType = imgspecv1.MediaTypeImageManifest
	case "v2s2", "docker":
		co.ForceManifestMIMEType = manifest.DockerV2Schema2MediaType
	default:
		return "", fmt.Errorf("invalid --format %q: use oci or v2s2", po.Format)
	}
	alg, err := compressionFor(po.Compression)
	if err != nil {
		return "", err
	}
	if alg != nil {
		dsys := *sys
		dsys.CompressionFormat = alg
		co.DestinationCtx = &dsys
		co.ForceCompressionFormat = true
	}
	m, err := copyImage(pc, dstRef, srcRef, co)
	if err != nil {
		return "", Explain("push "+image+" to "+dest, err)
	}
	d, err := manifestDigest(m)
	if err != nil {
		return "", err
	}
	if po.DigestFile != "" {
		if err := os.WriteFile(po.DigestFile, []byte(d.String()), 0o644); err != nil {
			return "", fmt.Errorf("write --digestfile: %w", err)
		}
	}
	return d.String(), nil
}

func trimDocker(s string) string {
	if len(s) > 9 && s[:9] == "docker://" {
		return s[9:]
	}
	return s
}
