package build

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	digest "github.com/opencontainers/go-digest"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/container"
	"github.com/skiff-project/skiff/pkg/diff"
	"github.com/skiff-project/skiff/pkg/image"
	"github.com/skiff-project/skiff/pkg/spec"
	"github.com/skiff-project/skiff/pkg/store"
)

// mountPoints are where RUN's containers have something mounted over the root: what skiff-init
// creates for them when the image lacks them is no change of the step's.
var mountPoints = []string{"/proc", "/dev", "/sys", "/etc/hosts", "/etc/hostname", "/etc/resolv.conf", "/run/.containerenv"}

// run runs a RUN step in a container on the image so far and makes a layer of what it
// changed (nil when it changed nothing).
func (b *builder) run(st *state, args map[string]string, c *instructions.RunCommand) (*layerRef, error) {
	if len(st.Layers) == 0 {
		return nil, fmt.Errorf("RUN in an empty image (FROM scratch): there is no shell or command to run; COPY one in first")
	}
	flags, err := b.runFlagsOf(c, workdir(&st.Config.Config))
	if err != nil {
		return nil, err
	}
	argv := slices.Clone(c.CmdLine)
	if c.PrependShell {
		script := strings.Join(c.CmdLine, " ")
		if len(c.Files) > 0 {
			f := c.Files[0]
			if strings.HasPrefix(strings.TrimSpace(script), "<<") && len(strings.Fields(script)) == 1 {
				script = f.Data // RUN <<EOF: the heredoc is the script
			} else {
				script += "\n" + f.Data + f.Name + "\n" // the shell reads the heredoc itself
			}
		}
		argv = append(shellOf(st), script)
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("RUN needs a command")
	}
	out := b.o.Out
	if out == nil {
		null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		defer null.Close()
		out = null
	}
	base := &catalog.Image{ID: st.BaseID, TopLayer: st.Layers[len(st.Layers)-1].ID, Config: st.Config}
	empty := ""
	o := container.RunOptions{
		Image:  "build step",
		Base:   base,
		Remove: true,
		Stdout: out, Stderr: out,
		Compile: b.o.Compile,
		Spec:    spec.Options{Entrypoint: &empty, Cmd: argv, Network: flags.network},
	}
	volumes, tmpfs, release, err := b.runMounts(flags)
	if err != nil {
		return nil, err
	}
	defer release()
	o.Spec.Volumes, o.Spec.Tmpfs = volumes, tmpfs
	// ARGs are in RUN's environment, not in the image's
	for _, k := range slices.Sorted(maps.Keys(args)) {
		if !hasEnv(st.Config.Config.Env, k) {
			o.Spec.Env = append(o.Spec.Env, k+"="+args[k])
		}
	}
	var layer *layerRef
	points := slices.Clone(mountPoints)
	for v := range st.Config.Config.Volumes {
		points = append(points, v)
	}
	for _, m := range flags.mounts {
		points = append(points, m.Target) // what the step sees there is not the image's
	}
	o.AfterExit = func(upper string, lowers []string) error {
		opts := diff.Options{Epoch: &b.epoch, MountPoints: points}
		changes, err := diff.Changes(upper, lowers, opts)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			return nil
		}
		layer, err = putLayer(b.o.Store, st.Layers, func(w io.Writer) error { return diff.WriteLayer(w, upper, lowers, opts) })
		return err
	}
	code, err := container.Run(b.o.Paths, o)
	if err != nil {
		return nil, err
	}
	if code != 0 {
		return nil, &StepError{Cmd: strings.Join(argv, " "), Code: code}
	}
	return layer, nil
}

// StepError is a RUN whose command failed.
type StepError struct {
	Cmd  string
	Code int
}

func (e *StepError) Error() string {
	return fmt.Sprintf("RUN %s: the command exited with code %d (its output is above; nothing was committed)", e.Cmd, e.Code)
}

func hasEnv(env []string, key string) bool {
	return slices.ContainsFunc(env, func(kv string) bool { k, _, _ := strings.Cut(kv, "="); return k == key })
}

// source is what COPY --from reads: the context (""), an earlier stage, or an image. keep says
// whether the files keep their owners (everything but the context).
func (b *builder) source(from string) (SourceFS, bool, error) {
	if from == "" {
		return b.o.Context, false, nil
	}
	if j := b.o.Dockerfile.Stage(from); j >= 0 {
		st, ok := b.done[j]
		if !ok {
			return nil, false, fmt.Errorf("COPY --from=%s: that stage comes later or is this one: copy from an earlier stage", from)
		}
		return diff.Layers(b.layerDirs(st)), true, nil
	}
	img, err := b.image(from, false)
	if err != nil {
		return nil, false, fmt.Errorf("COPY --from=%s: %w", from, err)
	}
	layers, err := b.cat.Layers(img)
	if err != nil {
		return nil, false, err
	}
	return diff.Layers(b.cat.LayerDirs(layers)), true, nil
}

// copyLayer makes the layer of a COPY or ADD.
func (b *builder) copyLayer(st *state, src SourceFS, sources []string, dest, chown, chmod string, keep, add bool) (*layerRef, error) {
	spec := CopySpec{Sources: sources, Dest: dest, WorkDir: workdir(&st.Config.Config), KeepOwner: keep, Extract: add, Epoch: &b.epoch}
	if chown != "" {
		owner, err := b.owner(st, chown)
		if err != nil {
			return nil, err
		}
		spec.Chown = owner
	}
	if chmod != "" {
		m, err := strconv.ParseUint(chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return nil, fmt.Errorf("--chmod=%s: give an octal mode such as 644 or 0755", chmod)
		}
		mode := fs.FileMode(m)
		spec.Chmod = &mode
	}
	return putLayer(b.o.Store, st.Layers, func(w io.Writer) error {
		_, err := WriteCopy(w, src, spec)
		return err
	})
}

// owner resolves --chown=USER[:GROUP] in the image so far (names through its /etc/passwd and
// /etc/group). A user without a group gets the group of the same number, as docker does.
func (b *builder) owner(st *state, chown string) (*Owner, error) {
	u, err := spec.ResolveUser(chown, layerFiles{diff.Layers(b.layerDirs(st))})
	if err != nil {
		return nil, fmt.Errorf("--chown=%s: %w", chown, err)
	}
	o := &Owner{UID: int(u.User.UID), GID: int(u.User.GID)}
	if !strings.Contains(chown, ":") {
		o.GID = o.UID
	}
	return o, nil
}

// layerFiles reads the image's files for user names.
type layerFiles struct{ l diff.Layers }

func (f layerFiles) ReadFile(name string) ([]byte, error) {
	r, err := f.l.Open(strings.TrimPrefix(path.Clean("/"+name), "/"))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// mkdirTar writes a layer that holds dir and its parents (0755, root's).
func mkdirTar(w io.Writer, dir string, epoch time.Time) error {
	tw := tar.NewWriter(w)
	p := ""
	for _, part := range strings.Split(strings.Trim(path.Clean(dir), "/"), "/") {
		p = path.Join(p, part)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: p + "/", Mode: 0o755, ModTime: epoch}); err != nil {
			return err
		}
	}
	return tw.Close()
}

// commit stores the built image and gives it the tags.
func (b *builder) commit(st *state) (string, error) {
	cfg := cloneConfig(st.Config)
	if len(b.o.Labels) > 0 {
		if cfg.Config.Labels == nil {
			cfg.Config.Labels = map[string]string{}
		}
		for k, v := range b.o.Labels {
			cfg.Config.Labels[k] = v
		}
	}
	created := st.Created
	if b.o.Epoch != nil || created.IsZero() {
		created = b.created()
	}
	cfg.Created = &created
	if cfg.Architecture == "" {
		cfg.Architecture, cfg.OS = runtime.GOARCH, "linux"
	}
	img, err := storeImage(b.o.Store, cfg, st.Layers, b.o.Tags)
	if err != nil {
		return "", err
	}
	if len(b.o.Tags) > 0 {
		b.say("COMMIT %s", strings.Join(b.o.Tags, " "))
	}
	b.say("--> %.12s", img.ID)
	for _, t := range b.o.Tags {
		b.say("Successfully tagged %s", t)
	}
	return img.ID, nil
}

// storeImage stores an image of layers (bottom first) and cfg, whose RootFS it fills in, with
// the names.
func storeImage(st *store.Store, cfg image.Config, layers []layerRef, names []string) (*store.Image, error) {
	cfg.RootFS = image.RootFS{Type: "layers"}
	var diffIDs []digest.Digest
	var sizes []int64
	top := ""
	for _, l := range layers {
		cfg.RootFS.DiffIDs = append(cfg.RootFS.DiffIDs, l.DiffID)
		diffIDs = append(diffIDs, digest.Digest(l.DiffID))
		sizes = append(sizes, l.Size)
		top = l.ID
	}
	img, err := st.NewImage(top, cfg, diffIDs, sizes, names)
	if err != nil {
		return nil, fmt.Errorf("store the image: %w", err)
	}
	return img, nil
}
