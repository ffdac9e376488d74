package build

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/containers/storage"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/buildkit/frontend/dockerfile/shell"
	digest "github.com/opencontainers/go-digest"

	"github.com/skiff-project/skiff/pkg/catalog"
	"github.com/skiff-project/skiff/pkg/config"
	"github.com/skiff-project/skiff/pkg/diff"
	"github.com/skiff-project/skiff/pkg/image"
	"github.com/skiff-project/skiff/pkg/seccomp"
	"github.com/skiff-project/skiff/pkg/store"
)

// Options is one build.
type Options struct {
	Paths      config.Paths
	Store      *store.Store
	Context    *Context
	Dockerfile *Dockerfile
	Tags       []string          // full references the image gets
	BuildArgs  map[string]string // --build-arg
	Target     string            // --target: the stage to build ("" for the last)
	NoCache    bool
	// Pull pulls an image into the store (FROM, COPY --from of an image that is missing, and
	// every FROM image with PullAlways).
	Pull       func(ref string) error
	PullAlways bool
	Labels     map[string]string // --label, over the Dockerfile's
	Network    string            // RUN's network: pasta (the default), host or none
	// Epoch clamps file times in the layers and is the image's creation time, for reproducible
	// images (--timestamp, SOURCE_DATE_EPOCH); nil: layers' times are clamped to the Unix epoch
	// all the same, and the image is created now.
	Epoch *time.Time
	// Out gets the steps ("STEP 2/5: RUN make") and what RUN prints; nil for --quiet.
	Out *os.File
	// Compile makes seccomp programs for RUN's containers.
	Compile seccomp.Compiler
}

// layerRef is one layer of an image being built, bottom first.
type layerRef struct {
	ID     string `json:"id"`
	DiffID string `json:"diffID"`
	Size   int64  `json:"size"`
}

// state is the image a stage has made so far; Key names it in the build cache.
type state struct {
	Key    string       `json:"key"`
	Layers []layerRef   `json:"layers"`
	Config image.Config `json:"config"`
	BaseID string       `json:"baseID,omitempty"` // the FROM image's ID, kept from removal while RUN runs
	// Created is when the last step that ran (not from the cache) ran: the image's creation
	// time, so that a build that comes wholly from the cache makes the same image again.
	Created time.Time `json:"created"`
}

type builder struct {
	o      Options
	cat    *catalog.Catalog
	done   map[int]*state
	steps  int // all steps of the stages built, for "STEP n/N"
	step   int
	epoch  time.Time
	global map[string]string // ARGs before the first FROM, with their values
}

// Build builds the target stage (and the stages it needs) and stores the image. It returns
// the image's ID.
func Build(o Options) (string, error) {
	b := &builder{o: o, done: map[int]*state{}, global: map[string]string{}}
	var err error
	if b.cat, err = o.Store.Catalog(); err != nil {
		return "", err
	}
	b.epoch = time.Unix(0, 0).UTC()
	if o.Epoch != nil {
		b.epoch = o.Epoch.UTC()
	}
	if o.Network == "" {
		b.o.Network = "pasta"
	}
	d := o.Dockerfile
	for _, a := range d.MetaArgs {
		for _, kv := range a.Args {
			v, ok := o.BuildArgs[kv.Key]
			if !ok && kv.Value != nil {
				v, ok = *kv.Value, true
			}
			if ok {
				b.global[kv.Key] = v
			}
		}
	}
	target := len(d.Stages) - 1
	if o.Target != "" {
		if target = d.Stage(o.Target); target < 0 {
			return "", fmt.Errorf("--target %s: the Dockerfile has no such stage (name a stage of a FROM ... AS NAME line)", o.Target)
		}
	}
	needed := map[int]bool{}
	if err := b.needs(target, needed); err != nil {
		return "", err
	}
	for i := range needed {
		b.steps += 1 + len(d.Stages[i].Commands)
	}
	// the stages the target needs, in the Dockerfile's order, as docker builds them
	for _, i := range slices.Sorted(maps.Keys(needed)) {
		if _, err := b.stage(i); err != nil {
			return "", err
		}
	}
	return b.commit(b.done[target])
}

// needs marks the stages stage i depends on (FROM another stage, COPY --from).
func (b *builder) needs(i int, seen map[int]bool) error {
	if seen[i] {
		return nil
	}
	seen[i] = true
	s := b.o.Dockerfile.Stages[i]
	deps := []string{b.expandGlobal(s.BaseName)}
	for _, c := range s.Commands {
		if cp, ok := c.(*instructions.CopyCommand); ok && cp.From != "" {
			deps = append(deps, cp.From)
		}
		if run, ok := c.(*instructions.RunCommand); ok {
			for _, m := range instructions.GetMounts(run) {
				if m.Type == instructions.MountTypeBind && m.From != "" {
					deps = append(deps, m.From)
				}
			}
		}
	}
	for _, dep := range deps {
		if j := b.o.Dockerfile.Stage(dep); j >= 0 && j < i {
			if err := b.needs(j, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

func (b *builder) expandGlobal(word string) string {
	env := []string{}
	for k, v := range b.global {
		env = append(env, k+"="+v)
	}
	out, _, err := shell.NewLex(b.o.Dockerfile.Escape).ProcessWord(word, shell.EnvsFromSlice(env))
	if err != nil {
		return word
	}
	return out
}

func (b *builder) say(format string, a ...any) {
	if b.o.Out != nil {
		fmt.Fprintf(b.o.Out, format+"\n", a...)
	}
}

// stage builds stage i, once.
func (b *builder) stage(i int) (*state, error) {
	if st, ok := b.done[i]; ok {
		return st, nil
	}
	d := b.o.Dockerfile
	s := d.Stages[i]
	b.step++
	b.say("STEP %d/%d: %s", b.step, b.steps, s.SourceCode)
	st, err := b.from(i, b.expandGlobal(s.BaseName))
	if err != nil {
		return nil, b.at(s.Location, err)
	}
	args := map[string]string{}
	for _, c := range s.Commands {
		b.step++
		b.say("STEP %d/%d: %s", b.step, b.steps, text(c))
		next, cached, err := b.command(st, args, c)
		if err != nil {
			return nil, b.at(c.Location(), err)
		}
		if cached {
			b.say("--> Using cache %.12s", next.Key)
		}
		st = next
	}
	b.done[i] = st
	return st, nil
}

// at puts the Dockerfile's name and the instruction's line before err.
func (b *builder) at(loc []parser.Range, err error) error {
	var se *SyntaxError
	if errors.As(err, &se) {
		return err
	}
	if n := line(loc); n > 0 {
		return fmt.Errorf("%s:%d: %w", b.o.Dockerfile.Name, n, err)
	}
	return fmt.Errorf("%s: %w", b.o.Dockerfile.Name, err)
}

// from is a stage's starting point: scratch, an earlier stage, or an image.
func (b *builder) from(i int, base string) (*state, error) {
	if strings.EqualFold(base, "scratch") {
		return &state{Key: hash("scratch"), Config: image.Config{Architecture: runtime.GOARCH, OS: "linux", RootFS: image.RootFS{Type: "layers"}}}, nil
	}
	if j := b.o.Dockerfile.Stage(base); j >= 0 && j < i {
		prev, err := b.stage(j)
		if err != nil {
			return nil, err
		}
		st := *prev
		st.Config.Config.OnBuild = nil
		return &st, nil
	}
	img, err := b.image(base, b.o.PullAlways)
	if err != nil {
		return nil, err
	}
	st := &state{Key: hash("image", img.ID), Config: img.Config, BaseID: img.ID, Created: img.Created}
	st.Config.Config.OnBuild = nil
	layers, err := b.cat.Layers(img)
	if err != nil {
		return nil, err
	}
	st.Layers = layerRefs(layers)
	st.Config.History = slices.Clone(st.Config.History)
	return st, nil
}

// image finds ref in the store, pulling it when missing (or always).
func (b *builder) image(ref string, always bool) (*catalog.Image, error) {
	if always && b.o.Pull != nil {
		if err := b.o.Pull(ref); err != nil {
			return nil, err
		}
	}
	for pulled := always; ; pulled = true {
		cat, err := b.o.Store.Catalog()
		if err != nil {
			return nil, err
		}
		b.cat = cat
		img, err := cat.Lookup(ref)
		if err == nil {
			return img, nil
		}
		if !errors.Is(err, catalog.ErrNotFound) || pulled || b.o.Pull == nil {
			return nil, err
		}
		if err := b.o.Pull(ref); err != nil {
			return nil, err
		}
	}
}

func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// env is what $VARS expand to in an instruction: the image's environment and the stage's
// ARGs (ENV wins, as docker).
func env(st *state, args map[string]string) []string {
	out := make([]string, 0, len(args)+len(st.Config.Config.Env))
	for _, k := range slices.Sorted(maps.Keys(args)) {
		out = append(out, k+"="+args[k])
	}
	return append(out, st.Config.Config.Env...)
}

// command applies one instruction to st: from the cache when it can.
func (b *builder) command(prev *state, args map[string]string, c instructions.Command) (*state, bool, error) {
	lex := shell.NewLex(b.o.Dockerfile.Escape)
	vars := shell.EnvsFromSlice(env(prev, args))
	if e, ok := c.(instructions.SupportsSingleWordExpansion); ok {
		if err := e.Expand(func(w string) (string, error) {
			out, _, err := lex.ProcessWord(w, vars)
			return out, err
		}); err != nil {
			return nil, false, err
		}
	}
	if e, ok := c.(instructions.SupportsSingleWordExpansionRaw); ok {
		// a here-document's $variables, quotes left as they are (BuildKit's)
		raw := shell.NewLex(b.o.Dockerfile.Escape)
		raw.SkipProcessQuotes = true
		if err := e.ExpandRaw(func(w string) (string, error) {
			out, _, err := raw.ProcessWord(w, vars)
			return out, err
		}); err != nil {
			return nil, false, err
		}
	}
	st := *prev
	st.Config = cloneConfig(prev.Config)
	st.Layers = slices.Clone(prev.Layers)
	cfg := &st.Config.Config
	// what the step's result depends on besides the image so far and the instruction
	extra := ""
	var copySrc SourceFS     // COPY's source, looked up once for the key and the layer
	var copySources []string // what it copies from copySrc
	var copyKeep bool
	switch c := c.(type) {
	case *instructions.ArgCommand:
		for _, kv := range c.Args {
			v, ok := b.o.BuildArgs[kv.Key]
			if !ok {
				if g, isGlobal := b.global[kv.Key]; isGlobal && kv.Value == nil {
					v, ok = g, true
				} else if kv.Value != nil {
					v, ok = *kv.Value, true
				}
			}
			if ok {
				args[kv.Key] = v
			}
		}
		// an ARG changes no image; its value reaches the cache keys of the RUNs after it
		return &st, false, nil
	case *instructions.EnvCommand:
		for _, kv := range c.Env {
			cfg.Env = image.SetEnv(cfg.Env, kv.Key, kv.Value)
		}
	case *instructions.LabelCommand:
		if cfg.Labels == nil {
			cfg.Labels = map[string]string{}
		}
		for _, kv := range c.Labels {
			cfg.Labels[kv.Key] = kv.Value
		}
	case *instructions.MaintainerCommand:
		st.Config.Author = c.Maintainer
	case *instructions.ExposeCommand:
		if cfg.ExposedPorts == nil {
			cfg.ExposedPorts = map[string]struct{}{}
		}
		for _, p := range c.Ports {
			for _, w := range strings.Fields(p) {
				w, _, _ = lex.ProcessWord(w, vars)
				if !strings.Contains(w, "/") {
					w += "/tcp"
				}
				cfg.ExposedPorts[w] = struct{}{}
			}
		}
	case *instructions.UserCommand:
		cfg.User = c.User
	case *instructions.CmdCommand:
		cfg.Cmd = b.cmdLine(&st, c.ShellDependantCmdLine)
	case *instructions.EntrypointCommand:
		cfg.Entrypoint = b.cmdLine(&st, c.ShellDependantCmdLine)
		cfg.Cmd = nil // docker: ENTRYPOINT resets an inherited CMD
	case *instructions.VolumeCommand:
		if cfg.Volumes == nil {
			cfg.Volumes = map[string]struct{}{}
		}
		for _, v := range c.Volumes {
			if v = strings.TrimSpace(v); v == "" {
				return nil, false, errors.New("VOLUME needs a path")
			}
			cfg.Volumes[path.Clean(v)] = struct{}{}
		}
	case *instructions.StopSignalCommand:
		cfg.StopSignal = c.Signal
	case *instructions.ShellCommand:
		cfg.Shell = slices.Clone(c.Shell)
	case *instructions.HealthCheckCommand:
		h := c.Health
		cfg.Healthcheck = &image.HealthConfig{Test: slices.Clone(h.Test), Interval: h.Interval, Timeout: h.Timeout,
			StartPeriod: h.StartPeriod, StartInterval: h.StartInterval, Retries: h.Retries}
	case *instructions.OnbuildCommand:
		cfg.OnBuild = append(cfg.OnBuild, c.Expression)
	case *instructions.WorkdirCommand:
		wd := c.Path
		if !path.IsAbs(wd) {
			wd = path.Join(workdir(cfg), wd)
		}
		cfg.WorkingDir = path.Clean(wd)
	case *instructions.RunCommand:
		flags, err := b.runFlagsOf(c, workdir(cfg))
		if err != nil {
			return nil, false, err
		}
		binds, err := b.bindKey(flags)
		if err != nil {
			return nil, false, err
		}
		extra = strings.Join(env(prev, args), "\n") + "\n" + b.o.Network + "\n" + binds
	case *instructions.CopyCommand:
		var err error
		if copySrc, copyKeep, err = b.source(c.From); err != nil {
			return nil, false, err
		}
		copySrc, copySources = withHeredocs(copySrc, c.SourcesAndDest, nil)
		sum, err := SourcesDigest(copySrc, copySources)
		if err != nil {
			return nil, false, err
		}
		extra = fmt.Sprint(sum, copyKeep, c.DestPath, c.Chown, c.Chmod, copySources)
	case *instructions.AddCommand:
		fetched := map[string]extraFile{}
		for _, s := range c.SourcePaths {
			if !isRemote(s) {
				continue
			}
			if _, ok := fetched[s]; ok {
				continue
			}
			scratch, err := b.o.Store.Scratch()
			if err != nil {
				return nil, false, err
			}
			f, err := fetch(s, scratch, c.Checksum)
			if f.path != "" {
				defer os.RemoveAll(filepath.Dir(f.path))
			}
			if err != nil {
				return nil, false, err
			}
			fetched[s] = f
		}
		if c.Checksum != "" && len(fetched) == 0 {
			return nil, false, fmt.Errorf("ADD --checksum=%s: only a URL source has a checksum to check", c.Checksum)
		}
		copySrc, copySources = withHeredocs(b.o.Context, c.SourcesAndDest, fetched)
		sum, err := SourcesDigest(copySrc, copySources)
		if err != nil {
			return nil, false, err
		}
		extra = fmt.Sprint(sum, c.DestPath, c.Chown, c.Chmod, copySources)
	default:
		return nil, false, fmt.Errorf("%s is not supported", strings.ToUpper(c.Name()))
	}
	// the configuration the step leaves (ENV, USER, WORKDIR... with $ARGs expanded) is part
	// of the key: the steps after it see it
	cfgJSON, _ := json.Marshal(st.Config.Config)
	st.Key = hash(prev.Key, text(c), extra, string(cfgJSON), b.epoch.String())
	if !b.o.NoCache {
		if hit := b.cached(st.Key); hit != nil {
			return hit, true, nil
		}
	}
	// the step itself
	created := b.created()
	st.Created = created
	hist := image.History{Created: &created, CreatedBy: createdBy(c)}
	var layer *layerRef
	var err error
	switch c := c.(type) {
	case *instructions.RunCommand:
		layer, err = b.run(&st, args, c)
	case *instructions.CopyCommand:
		layer, err = b.copyLayer(&st, copySrc, copySources, c.DestPath, c.Chown, c.Chmod, copyKeep, false)
	case *instructions.AddCommand:
		layer, err = b.copyLayer(&st, copySrc, copySources, c.DestPath, c.Chown, c.Chmod, false, true)
	case *instructions.WorkdirCommand:
		layer, err = b.mkdirLayer(&st, cfg.WorkingDir)
	}
	if err != nil {
		return nil, false, err
	}
	if layer != nil {
		st.Layers = append(st.Layers, *layer)
	} else {
		hist.EmptyLayer = true
	}
	st.Config.History = append(st.Config.History, hist)
	b.remember(&st)
	return &st, false, nil
}

// cloneConfig copies what a step may change in place.
func cloneConfig(c image.Config) image.Config {
	c.Config.Env = slices.Clone(c.Config.Env)
	c.Config.Labels = maps.Clone(c.Config.Labels)
	c.Config.ExposedPorts = maps.Clone(c.Config.ExposedPorts)
	c.Config.Volumes = maps.Clone(c.Config.Volumes)
	c.Config.OnBuild = slices.Clone(c.Config.OnBuild)
	c.History = slices.Clone(c.History)
	c.RootFS.DiffIDs = nil
	return c
}

func workdir(cfg *image.ImageConfig) string {
	if cfg.WorkingDir == "" {
		return "/"
	}
	return cfg.WorkingDir
}

// created is the time a step's history and the image carry.
func (b *builder) created() time.Time {
	if b.o.Epoch != nil {
		return *b.o.Epoch
	}
	return time.Now().UTC().Truncate(time.Second)
}

func createdBy(c instructions.Command) string {
	if _, ok := c.(*instructions.RunCommand); ok {
		return "/bin/sh -c " + strings.TrimSpace(strings.TrimPrefix(text(c), "RUN"))
	}
	return "/bin/sh -c #(nop) " + text(c)
}

// text is an instruction as the Dockerfile has it.
func text(c instructions.Command) string {
	if s, ok := c.(fmt.Stringer); ok {
		return s.String()
	}
	return strings.ToUpper(c.Name())
}

// cmdLine is CMD's or ENTRYPOINT's argv: the exec form as written, the shell form through
// the image's SHELL.
func (b *builder) cmdLine(st *state, c instructions.ShellDependantCmdLine) []string {
	if !c.PrependShell {
		return slices.Clone(c.CmdLine)
	}
	return append(shellOf(st), strings.Join(c.CmdLine, " "))
}

func shellOf(st *state) []string {
	if sh := st.Config.Config.Shell; len(sh) > 0 {
		return slices.Clone(sh)
	}
	return []string{"/bin/sh", "-c"}
}

// ---- cache ---------------------------------------------------------------------------------

func (b *builder) cacheDir() string { return filepath.Join(b.o.Paths.GraphRoot, "skiff-build-cache") }

// cached returns the state a step with this key made before, when its layers are all still
// in the store.
func (b *builder) cached(key string) *state {
	data, err := os.ReadFile(filepath.Join(b.cacheDir(), key+".json"))
	if err != nil {
		return nil
	}
	var st state
	if json.Unmarshal(data, &st) != nil || st.Key != key {
		return nil
	}
	for _, l := range st.Layers {
		if _, err := b.o.Store.S.Layer(l.ID); err != nil {
			return nil
		}
	}
	return &st
}

// remember writes a step's result to the cache (atomically: a killed build leaves the entry
// whole or absent).
func (b *builder) remember(st *state) {
	data, err := json.Marshal(st)
	if err != nil {
		return
	}
	if err := os.MkdirAll(b.cacheDir(), 0o700); err != nil {
		return
	}
	tmp, err := os.CreateTemp(b.cacheDir(), ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(data)
	if cerr := tmp.Close(); werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return
	}
	if os.Rename(tmp.Name(), filepath.Join(b.cacheDir(), st.Key+".json")) != nil {
		os.Remove(tmp.Name())
	}
}

// ---- layers --------------------------------------------------------------------------------

// layerRefs are a store image's layers (catalog order: top first), bottom first.
func layerRefs(layers []*catalog.Layer) []layerRef {
	refs := make([]layerRef, 0, len(layers))
	for i := len(layers) - 1; i >= 0; i-- {
		l := layers[i]
		refs = append(refs, layerRef{ID: l.ID, DiffID: l.DiffDigest, Size: l.DiffSize})
	}
	return refs
}

// putLayer stores the tar that write produces on top of below (bottom first). The layer's ID
// follows from its parent and content, so the same step on the same parent is one layer on
// disk.
func putLayer(s *store.Store, below []layerRef, write func(io.Writer) error) (*layerRef, error) {
	dir, err := s.Scratch()
	if err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "layer-*.tar")
	if err != nil {
		return nil, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	if err := write(io.MultiWriter(f, h)); err != nil {
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	diffID := digest.NewDigestFromBytes(digest.SHA256, h.Sum(nil))
	parent := ""
	if n := len(below); n > 0 {
		parent = below[n-1].ID
	}
	id := hash(parent, diffID.String())
	l, _, err := s.S.PutLayer(id, parent, nil, "", false, nil, f)
	if errors.Is(err, storage.ErrDuplicateID) {
		l, err = s.S.Layer(id)
	}
	if err != nil {
		return nil, fmt.Errorf("store the layer: %w", err)
	}
	return &layerRef{ID: l.ID, DiffID: diffID.String(), Size: l.UncompressedSize}, nil
}

// layerDirs are st's layer directories, top first.
func (b *builder) layerDirs(st *state) []string {
	dirs := make([]string, 0, len(st.Layers))
	for i := len(st.Layers) - 1; i >= 0; i-- {
		dirs = append(dirs, b.cat.LayerDir(st.Layers[i].ID))
	}
	return dirs
}

// mkdirLayer makes WORKDIR's directory when the image lacks it (docker does); nil when it is
// there.
func (b *builder) mkdirLayer(st *state, dir string) (*layerRef, error) {
	if _, err := diff.Layers(b.layerDirs(st)).Lstat(strings.TrimPrefix(dir, "/")); err == nil || dir == "/" {
		return nil, nil
	}
	return putLayer(b.o.Store, st.Layers, func(w io.Writer) error { return mkdirTar(w, dir, b.epoch) })
}

// PruneCache empties the build cache, RUN --mount=type=cache's directories included, and
// deletes the layers no image uses any more (those only cached steps kept). It returns how
// many cache entries and layers went, and the size of the layers and cache directories. A
// build running meanwhile may lose the layers it has not made an image of yet.
func PruneCache(st *store.Store) (entries, layers int, reclaimed int64, err error) {
	mounts := filepath.Join(st.Paths.GraphRoot, MountCacheDir)
	_ = filepath.WalkDir(mounts, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				reclaimed += fi.Size()
			}
		}
		return nil
	})
	if err := os.RemoveAll(mounts); err != nil {
		return 0, 0, 0, fmt.Errorf("remove the RUN --mount=type=cache directories: %w", err)
	}
	dir := filepath.Join(st.Paths.GraphRoot, "skiff-build-cache")
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if os.Remove(filepath.Join(dir, e.Name())) == nil && strings.HasSuffix(e.Name(), ".json") {
			entries++
		}
	}
	all, err := st.S.Layers()
	if err != nil {
		return entries, 0, 0, err
	}
	imgs, err := st.S.Images()
	if err != nil {
		return entries, 0, 0, err
	}
	byID := map[string]storage.Layer{}
	for _, l := range all {
		byID[l.ID] = l
	}
	used := map[string]bool{}
	for _, img := range imgs {
		for id := img.TopLayer; id != "" && !used[id]; id = byID[id].Parent {
			used[id] = true
		}
	}
	// leaves first: a layer goes once no other layer stands on it
	for removed := true; removed; {
		removed = false
		children := map[string]int{}
		for _, l := range byID {
			if l.Parent != "" {
				children[l.Parent]++
			}
		}
		for id, l := range byID {
			if used[id] || children[id] > 0 {
				continue
			}
			if err := st.S.DeleteLayer(id); err != nil {
				return entries, layers, reclaimed, fmt.Errorf("remove layer %.12s: %w", id, err)
			}
			delete(byID, id)
			layers++
			reclaimed += l.UncompressedSize
			removed = true
		}
	}
	return entries, layers, reclaimed, nil
}
