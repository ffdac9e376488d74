// Package transfer moves images between skiff's store and registries or archives, through
// github.com/containers/image: pull, push, save, load, login and logout. It is heavy to link and
// to initialise, so only the skiff-image helper (cmd/skiff-image) imports it; the skiff binary
// execs that helper for these commands and stays lean for run.
package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/containers/image/v5/copy"
	"github.com/containers/image/v5/docker"
	"github.com/containers/image/v5/docker/reference"
	"github.com/containers/image/v5/manifest"
	"github.com/containers/image/v5/pkg/compression"
	"github.com/containers/image/v5/signature"
	storageTransport "github.com/containers/image/v5/storage"
	"github.com/containers/image/v5/types"
	"github.com/docker/distribution/registry/api/errcode"
	digest "github.com/opencontainers/go-digest"

	"github.com/skiff-project/skiff/pkg/store"
)

// Options are what pull, push, save and load share.
type Options struct {
	Store      *store.Store
	TLSVerify  types.OptionalBool // OptionalBoolFalse for --tls-verify=false
	Creds      string             // USER[:PASSWORD]
	AuthFile   string
	Platform   string // os/arch[/variant]
	Report     io.Writer
	Quiet      bool
	CertDir    string
	RegConf    string // registries.conf to use instead of the default ones
	PolicyPath string
}

// AuthFile is where credentials are kept unless --authfile says otherwise: $REGISTRY_AUTH_FILE,
// else $XDG_RUNTIME_DIR/containers/auth.json, else ~/.config/containers/auth.json (which
// containers/image also reads).
func AuthFile(flag string) string {
	if flag != "" {
		return flag
	}
	if f := os.Getenv("REGISTRY_AUTH_FILE"); f != "" {
		return f
	}
	if x := os.Getenv("XDG_RUNTIME_DIR"); x != "" {
		return filepath.Join(x, "containers", "auth.json")
	}
	if home, err := os.UserHomeDir(); err == nil && home != "" {
		return filepath.Join(home, ".config", "containers", "auth.json")
	}
	return ""
}

// SystemContext is the containers/image context for these options.
func (o Options) SystemContext() (*types.SystemContext, error) {
	sys := &types.SystemContext{
		AuthFilePath:             AuthFile(o.AuthFile),
		DockerCertPath:           o.CertDir,
		SystemRegistriesConfPath: o.RegConf,
		SignaturePolicyPath:      o.PolicyPath,
	}
	// --tls-verify=true insists on verification; =false skips it; unset, registries.conf decides
	switch o.TLSVerify {
	case types.OptionalBoolTrue:
		sys.DockerInsecureSkipTLSVerify = types.OptionalBoolFalse
	case types.OptionalBoolFalse:
		sys.DockerInsecureSkipTLSVerify = types.OptionalBoolTrue
		sys.OCIInsecureSkipTLSVerify = true
	}
	if o.Store != nil {
		// containers/image's blob-info cache beside skiff's store, not in podman's directory
		sys.BlobInfoCacheDir = filepath.Join(filepath.Dir(o.Store.Paths.GraphRoot), "cache")
		// blobs being pulled and archives being read: in the store, where a killed pull's
		// leftovers are removed by the next one, never in /var/tmp
		tmp, err := o.Store.Scratch()
		if err != nil {
			return nil, err
		}
		sys.BigFilesTemporaryDir = tmp
	}
	if o.Creds != "" {
		user, pass, _ := strings.Cut(o.Creds, ":")
		if user == "" {
			return nil, fmt.Errorf("invalid --creds: use USER[:PASSWORD]")
		}
		if pass == "" {
			p, err := readPassword("Password: ")
			if err != nil {
				return nil, err
			}
			pass = p
		}
		sys.DockerAuthConfig = &types.DockerAuthConfig{Username: user, Password: pass}
	}
	if o.Platform != "" {
		parts := strings.Split(o.Platform, "/")
		if len(parts) < 2 || len(parts) > 3 || parts[0] == "" || parts[1] == "" {
			return nil, fmt.Errorf("invalid --platform %q: use OS/ARCH[/VARIANT], e.g. linux/arm64", o.Platform)
		}
		sys.OSChoice, sys.ArchitectureChoice = parts[0], parts[1]
		if len(parts) == 3 {
			sys.VariantChoice = parts[2]
		}
	}
	return sys, nil
}

// policyContext is the signature policy: the user's policy.json when there is one
// (~/.config/containers/policy.json, /etc/containers/policy.json), else accept anything.
func (o Options) policyContext(sys *types.SystemContext) (*signature.PolicyContext, error) {
	var pol *signature.Policy
	p, err := signature.DefaultPolicy(sys)
	switch {
	case err == nil:
		pol = p
	case errors.Is(err, os.ErrNotExist) && o.PolicyPath == "":
		pol = &signature.Policy{Default: []signature.PolicyRequirement{signature.NewPRInsecureAcceptAnything()}}
	default:
		return nil, fmt.Errorf("signature policy: %w", err)
	}
	return signature.NewPolicyContext(pol)
}

func (o Options) copyOptions(sys *types.SystemContext) *copy.Options {
	co := &copy.Options{SourceCtx: sys, DestinationCtx: sys}
	if !o.Quiet && o.Report != nil {
		co.ReportWriter = o.Report
	}
	return co
}

// storeRef is a containers-storage reference in skiff's store for a full name (or none).
func (o Options) storeRef(named reference.Named) (types.ImageReference, error) {
	if named == nil {
		return storageTransport.Transport.NewStoreReference(o.Store.S, nil, "")
	}
	return storageTransport.Transport.ParseStoreReference(o.Store.S, named.String())
}

// unnamedRef is where an image without a name goes in the store: under its ID, which
// containers/image's storage transport makes the config's digest.
func (o Options) unnamedRef(sys *types.SystemContext, src types.ImageReference) (types.ImageReference, error) {
	img, err := src.NewImage(context.Background(), sys)
	if err != nil {
		return nil, err
	}
	defer img.Close()
	return storageTransport.Transport.NewStoreReference(o.Store.S, nil, img.ConfigInfo().Digest.Encoded())
}

// storeImageID is the store's ID of the image ref names.
func (o Options) storeImageID(ref types.ImageReference) (string, error) {
	img, err := storageTransport.Transport.GetStoreImage(o.Store.S, ref)
	if err != nil {
		return "", err
	}
	return img.ID, nil
}

// Explain turns containers/image errors into one line naming the image, the cause and a fix.
func Explain(what string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	var ec errcode.Error
	var ecs errcode.Errors
	if errors.As(err, &ecs) && len(ecs) > 0 {
		if e, ok := ecs[0].(errcode.Error); ok {
			ec = e
		}
	}
	var unauth docker.ErrUnauthorizedForCredentials
	var urlErr *url.Error
	var opErr *net.OpError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &unauth):
		return fmt.Errorf("%s: the registry refused the credentials: check them, or log in with skiff login", what)
	case ec.Code == errcode.ErrorCodeUnauthorized || strings.Contains(msg, "401 Unauthorized") || strings.Contains(msg, "authentication required"):
		return fmt.Errorf("%s: authentication required: log in with skiff login REGISTRY, or pass --creds USER:PASSWORD", what)
	case ec.Code == errcode.ErrorCodeDenied || strings.Contains(msg, "403 Forbidden") || strings.Contains(msg, "denied"):
		return fmt.Errorf("%s: access denied by the registry: check the name and your permissions", what)
	case strings.Contains(msg, "manifest unknown") || strings.Contains(msg, "name unknown") || strings.Contains(msg, "404 Not Found") || strings.Contains(msg, "repository name not known"):
		return fmt.Errorf("%s: not found in the registry: check the name and tag", what)
	case strings.Contains(msg, "http: server gave HTTP response to HTTPS client"):
		return fmt.Errorf("%s: the registry speaks plain HTTP: use --tls-verify=false for it", what)
	case strings.Contains(msg, "x509:") || strings.Contains(msg, "tls:") || strings.Contains(msg, "certificate"):
		return fmt.Errorf("%s: TLS verification failed (%s): install the registry's CA in /etc/containers/certs.d/HOST/ or use --tls-verify=false", what, lastPart(msg))
	case errors.As(err, &dnsErr):
		return fmt.Errorf("%s: cannot resolve %s: check the registry name and your network", what, dnsErr.Name)
	case errors.Is(err, syscall.ECONNREFUSED) || (errors.As(err, &opErr) && opErr.Op == "dial") || (errors.As(err, &urlErr) && strings.Contains(msg, "connect")):
		return fmt.Errorf("%s: cannot reach the registry (%s): is it running, and is the address right?", what, lastPart(msg))
	case strings.Contains(msg, "Digest did not match") || strings.Contains(msg, "digest mismatch") || strings.Contains(msg, "does not match digest") || strings.Contains(msg, "computed digest"):
		return fmt.Errorf("%s: a downloaded blob does not match its digest (corrupted in the registry or in transit): %s", what, lastPart(msg))
	case strings.Contains(msg, "unsupported manifest type") || strings.Contains(msg, "unsupported MIME type") || strings.Contains(msg, "unknown manifest"):
		return fmt.Errorf("%s: the registry returned a manifest type skiff cannot use: %s", what, lastPart(msg))
	case strings.Contains(msg, "unexpected EOF") || strings.Contains(msg, "short read"):
		return fmt.Errorf("%s: a blob was truncated: %s (try again)", what, lastPart(msg))
	case strings.Contains(msg, "500 Internal Server Error") || strings.Contains(msg, "502 ") || strings.Contains(msg, "503 ") || strings.Contains(msg, "504 "):
		return fmt.Errorf("%s: the registry failed (%s): try again later", what, lastPart(msg))
	case strings.Contains(msg, "no image found in image index for architecture") || strings.Contains(msg, "choosing image instance"):
		return fmt.Errorf("%s: no image for this platform in the manifest list: %s (use --platform)", what, lastPart(msg))
	}
	return fmt.Errorf("%s: %s", what, msg)
}

func lastPart(msg string) string {
	parts := strings.Split(msg, ": ")
	if len(parts) > 2 {
		return strings.Join(parts[len(parts)-2:], ": ")
	}
	return msg
}

// manifestDigest is the digest of a copied manifest, for --digestfile and output.
func manifestDigest(m []byte) (digest.Digest, error) { return manifest.Digest(m) }

// compressionFor parses --compression-format.
func compressionFor(name string) (*compression.Algorithm, error) {
	if name == "" {
		return nil, nil
	}
	a, err := compression.AlgorithmByName(name)
	if err != nil {
		return nil, fmt.Errorf("invalid --compression-format %q: use gzip or zstd", name)
	}
	return &a, nil
}

var background = context.Background
