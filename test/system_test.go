package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// parseHumanSize reads docker's decimal sizes ("102.4kB", "2.1MB", "0B").
func parseHumanSize(t testing.TB, s string) float64 {
	t.Helper()
	s = strings.TrimSpace(s)
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		t.Fatalf("not a size: %q", s)
	}
	n, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		t.Fatalf("not a size: %q", s)
	}
	mult := map[string]float64{"B": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12}[s[i:]]
	if mult == 0 {
		t.Fatalf("not a size (unit): %q", s)
	}
	return n * mult
}

// psNames is ps -a --filter ... --format {{.Names}}, in the store g names.
func psNames(t testing.TB, m *mode, g []string, args ...string) []string {
	t.Helper()
	a := append(append(append([]string{}, g...), "ps"), args...)
	return lines(m.mustSkiff(t, append(a, "--format", "{{.Names}}")...).stdout)
}

func TestSystemLabels(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		a, b, c := "sys-lab-a-"+m.name, "sys-lab-b-"+m.name, "sys-lab-c-"+m.name
		img := "localhost/sys-labimg-" + m.name
		cleanup := func() { m.skiff("rm", "-f", a, b, c); m.skiff("rmi", "-f", img) }
		cleanup()
		defer cleanup()
		file := filepath.Join(tmpRoot, "sys-labels-"+m.name)
		if err := os.WriteFile(file, []byte("# a comment\n\nsys.c=file\n  sys.d=4 5\nsys.e\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		m.mustSkiff(t, "run", "-l", "sys.a=1", "--label", "sys.b=two", "--name", a, "bbtest", "true")
		m.mustSkiff(t, "run", "--label-file", file, "-l", "sys.c=over", "--name", b, "bbtest", "true")

		labelsOf := func(ctr string) map[string]string {
			r := m.mustSkiff(t, "inspect", "-f", "{{json .Config.Labels}}", ctr)
			var got map[string]string
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
				t.Fatalf("inspect %s: %v: %q", ctr, err, r.stdout)
			}
			return got
		}
		want := func(ctr string, w map[string]string) {
			t.Helper()
			got := labelsOf(ctr)
			if len(got) != len(w) {
				t.Errorf("inspect %s: Config.Labels %v, want %v", ctr, got, w)
				return
			}
			for k, v := range w {
				if gv, ok := got[k]; !ok || gv != v {
					t.Errorf("inspect %s: Config.Labels %v, want %v", ctr, got, w)
					return
				}
			}
		}
		want(a, map[string]string{"sys.a": "1", "sys.b": "two"})
		// the file first, --label over it; a name alone is an empty value
		want(b, map[string]string{"sys.c": "over", "sys.d": "4 5", "sys.e": ""})

		filter := func(fs ...string) []string {
			var args []string
			for _, f := range fs {
				args = append(args, "--filter", f)
			}
			var out []string
			for _, n := range psNames(t, m, nil, append([]string{"-a"}, args...)...) {
				if n == a || n == b {
					out = append(out, n)
				}
			}
			return out
		}
		for _, tc := range []struct {
			filters []string
			want    string
		}{
			{[]string{"label=sys.a"}, a},
			{[]string{"label=sys.a=1"}, a},
			{[]string{"label=sys.a=2"}, ""},
			{[]string{"label=sys.d=4 5"}, b},
			{[]string{"label=sys.e"}, b},
			{[]string{"label=sys.e="}, b},
			{[]string{"label=sys.nope"}, ""},
			// label filters all apply (docker), and with other keys too
			{[]string{"label=sys.a", "label=sys.b=two"}, a},
			{[]string{"label=sys.a", "label=sys.c"}, ""},
			{[]string{"label=sys.c", "name=" + b}, b},
			{[]string{"label=sys.c", "name=" + a}, ""},
		} {
			if got := strings.Join(filter(tc.filters...), " "); got != tc.want {
				t.Errorf("ps -a --filter %v: got %q, want %q", tc.filters, got, tc.want)
			}
		}
		// without -a, a label filter lists running containers only
		if got := psNames(t, m, nil, "--filter", "label=sys.a"); contains(got, a) {
			t.Errorf("ps --filter label=sys.a listed the stopped %s: %v", a, got)
		}
		if r := m.mustSkiff(t, "ps", "-a", "--filter", "name="+a, "--format", "{{.Labels}}|{{.Label \"sys.b\"}}"); norm(r.stdout) != "sys.a=1,sys.b=two|two" {
			t.Errorf("ps --format {{.Labels}}|{{.Label \"sys.b\"}}: %q", r.stdout)
		}

		// the image's labels, under the run's
		m.mustSkiff(t, "import", "-c", "LABEL sys.img=yes sys.a=img", bbTar, img)
		m.mustSkiff(t, "run", "-l", "sys.a=run", "--name", c, img, "true")
		want(c, map[string]string{"sys.a": "run", "sys.img": "yes"})
		if got := psNames(t, m, nil, "-a", "--filter", "label=sys.img=yes"); len(got) != 1 || got[0] != c {
			t.Errorf("ps -a --filter label=sys.img=yes (an image label): %v", got)
		}

		// bad input: one line, exit 125, nothing made
		before := len(psNames(t, m, nil, "-a"))
		wantOneLineError(t, m, "run -l =x", m.skiff("run", "-l", "=x", "bbtest", "true"), "label", "KEY=VALUE")
		wantOneLineError(t, m, "run --label-file missing", m.skiff("run", "--label-file", filepath.Join(tmpRoot, "sys-no-such-file"), "bbtest", "true"), "label-file")
		bad := filepath.Join(tmpRoot, "sys-labels-bad-"+m.name)
		os.WriteFile(bad, []byte("ok=1\nbad key=2\n"), 0o644)
		wantOneLineError(t, m, "run --label-file with a bad line", m.skiff("run", "--label-file", bad, "bbtest", "true"), "line 2", "KEY=VALUE")
		wantOneLineError(t, m, "ps --filter label==x", m.skiff("ps", "--filter", "label==x"), "label")
		if after := len(psNames(t, m, nil, "-a")); after != before {
			t.Errorf("a refused run made a container: %d containers, then %d", before, after)
		}
	})
}

func TestSystemPsSize(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "sys-size-" + m.name
		m.skiff("rm", "-f", name)
		defer m.skiff("rm", "-f", name)
		m.mustSkiff(t, "run", "--name", name, "bbtest", "sh", "-c", "head -c 102400 /dev/zero > /big")
		var imgSize float64
		for _, l := range lines(m.mustSkiff(t, "images", "--format", "{{.Repository}} {{.RawSize}}").stdout) {
			if f := strings.Fields(l); len(f) == 2 && f[0] == "localhost/bbtest" {
				imgSize, _ = strconv.ParseFloat(f[1], 64)
			}
		}
		if imgSize == 0 {
			t.Fatalf("no size for localhost/bbtest in skiff images")
		}
		r := m.mustSkiff(t, "ps", "-a", "-s", "--filter", "name="+name, "--format", "{{.Size}}")
		rwS, virtS, ok := strings.Cut(norm(r.stdout), " (virtual ")
		if !ok || !strings.HasSuffix(virtS, ")") {
			t.Fatalf("ps -s --format {{.Size}}: want \"SIZE (virtual SIZE)\": %q", r.stdout)
		}
		rw, virt := parseHumanSize(t, rwS), parseHumanSize(t, strings.TrimSuffix(virtS, ")"))
		if rw < 100e3 || rw > 200e3 {
			t.Errorf("ps -s: the container wrote 100 KB, its size is %q", rwS)
		}
		if virt < imgSize*0.99 || virt < rw {
			t.Errorf("ps -s: virtual %q, want at least the image's %.0f bytes", virtS, imgSize)
		}
		// the default table gets docker's SIZE column
		r = m.mustSkiff(t, "ps", "-a", "--size", "--filter", "name="+name)
		if ls := lines(r.stdout); len(ls) != 2 || !strings.HasSuffix(strings.TrimSpace(ls[0]), "SIZE") || !strings.Contains(ls[1], "(virtual ") {
			t.Errorf("ps -a --size: want a SIZE column: %q", r.stdout)
		}
		// and only then: plain ps counts nothing
		r = m.mustSkiff(t, "ps", "-a", "--filter", "name="+name, "--format", "json")
		if !strings.Contains(r.stdout, `"Size": ""`) {
			t.Errorf("ps without -s computed sizes: %q", r.stdout)
		}
	})
}

// dfRows runs system df --format json and returns its rows by type.
func dfRows(t testing.TB, m *mode, g []string) map[string]map[string]string {
	t.Helper()
	r := m.mustSkiff(t, append(g, "system", "df", "--format", "json")...)
	out := map[string]map[string]string{}
	for _, l := range lines(r.stdout) {
		var row map[string]string
		if err := json.Unmarshal([]byte(l), &row); err != nil {
			t.Fatalf("system df --format json: a line is not a JSON object: %v: %q", err, l)
		}
		out[row["Type"]] = row
	}
	for _, typ := range []string{"Images", "Containers", "Local Volumes", "Build Cache"} {
		if out[typ] == nil {
			t.Fatalf("system df --format json: no %s row: %q", typ, r.stdout)
		}
	}
	return out
}

func TestSystemDf(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		g := freshStore(t, m)
		sk := func(args ...string) result { return m.mustSkiff(t, append(append([]string{}, g...), args...)...) }
		run := "sys-df-run-" + m.name
		defer m.skiff(append(append([]string{}, g...), "rm", "-f", run)...)
		sk("import", bbTar, "sys-df-a")
		sk("import", "-c", "LABEL sys=b", bbTar, "sys-df-b")
		sk("import", bbTar) // dangling
		sk("run", "-d", "--name", run, "-v", "sys-df-vol:/v", "sys-df-a", "sleep", "1000")
		sk("run", "--name", "sys-df-stopped", "sys-df-a", "sh", "-c", "head -c 102400 /dev/zero > /big")
		sk("volume", "create", "sys-df-free")

		rows := dfRows(t, m, g)
		count := func(args ...string) string { return strconv.Itoa(len(lines(sk(args...).stdout))) }
		for _, c := range []struct{ typ, field, want string }{
			{"Images", "TotalCount", count("images", "-q")},
			{"Images", "Active", "1"},
			{"Containers", "TotalCount", count("ps", "-a", "-q")},
			{"Containers", "Active", count("ps", "-q")},
			{"Local Volumes", "TotalCount", count("volume", "ls", "-q")},
			{"Local Volumes", "Active", "1"},
			{"Build Cache", "TotalCount", "0"},
		} {
			if got := rows[c.typ][c.field]; got != c.want {
				t.Errorf("system df: %s %s = %q, want %q (%v)", c.typ, c.field, got, c.want, rows[c.typ])
			}
		}
		if rows["Images"]["TotalCount"] != "3" || rows["Containers"]["TotalCount"] != "2" || rows["Containers"]["Active"] != "1" || rows["Local Volumes"]["TotalCount"] != "2" {
			t.Errorf("system df: want 3 images, 2 containers (1 running), 2 volumes: %v", rows)
		}
		// the stopped container's 100 KB are its size, and reclaimable
		if s := parseHumanSize(t, rows["Containers"]["Size"]); s < 100e3 {
			t.Errorf("system df: containers' size %q, want at least 100kB", rows["Containers"]["Size"])
		}
		rec, _, _ := strings.Cut(rows["Containers"]["Reclaimable"], " ")
		if s := parseHumanSize(t, rec); s < 100e3 {
			t.Errorf("system df: containers' reclaimable %q, want at least 100kB", rows["Containers"]["Reclaimable"])
		}
		if s := parseHumanSize(t, rows["Images"]["Size"]); s < 1e6 {
			t.Errorf("system df: images' size %q, want the busybox layer's at least", rows["Images"]["Size"])
		}

		// docker's table
		ls := lines(sk("system", "df").stdout)
		if len(ls) != 5 || strings.Join(strings.Fields(ls[0]), " ") != "TYPE TOTAL ACTIVE SIZE RECLAIMABLE" ||
			!strings.HasPrefix(ls[1], "Images ") || !strings.HasPrefix(ls[2], "Containers ") ||
			!strings.HasPrefix(ls[3], "Local Volumes ") || !strings.HasPrefix(ls[4], "Build Cache ") {
			t.Errorf("system df: want docker's table: %q", ls)
		}
		if got := norm(sk("system", "df", "--format", "{{.Type}}={{.TotalCount}}").stdout); got != "Images=3\nContainers=2\nLocal Volumes=2\nBuild Cache=0" {
			t.Errorf("system df --format: %q", got)
		}

		// -v: one table each
		v := sk("system", "df", "-v").stdout
		for _, s := range []string{"Images space usage:", "Containers space usage:", "Local Volumes space usage:", "Build cache usage: 0B",
			"sys-df-stopped", run, "localhost/sys-df-a"} {
			if !strings.Contains(v, s) {
				t.Errorf("system df -v: no %q in %q", s, v)
			}
		}
		for _, l := range lines(v) {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "sys-df-vol" && f[1] != "1" || len(f) == 3 && f[0] == "sys-df-free" && f[1] != "0" {
				t.Errorf("system df -v: volume links: %q", l)
			}
		}
		var doc map[string][]map[string]string
		if err := json.Unmarshal([]byte(sk("system", "df", "-v", "--format", "json").stdout), &doc); err != nil {
			t.Fatalf("system df -v --format json: %v", err)
		}
		if len(doc["Images"]) != 3 || len(doc["Containers"]) != 2 || len(doc["Volumes"]) != 2 {
			t.Errorf("system df -v --format json: want 3 images, 2 containers, 2 volumes: %v", doc)
		}

		bad := func(args ...string) result { return m.skiff(append(append([]string{}, g...), args...)...) }
		wantOneLineError(t, m, "system df ARG", bad("system", "df", "extra"), "no arguments")
		wantOneLineError(t, m, "system df --format {{.Nope}}", bad("system", "df", "--format", "{{.Nope}}"), "format")
		wantOneLineError(t, m, "system nosuch", bad("system", "nosuch"), "df, prune")
	})
}

func TestSystemPrune(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		g := freshStore(t, m)
		with := func(args ...string) []string { return append(append([]string{}, g...), args...) }
		sk := func(args ...string) result { return m.mustSkiff(t, with(args...)...) }
		run := "sys-p-run-" + m.name
		defer m.skiff(with("rm", "-f", run)...)
		sk("import", bbTar, "sys-p-used")
		sk("import", "-c", "LABEL sys=unused", bbTar, "sys-p-unused")
		dangling := strings.TrimPrefix(norm(sk("import", bbTar).stdout), "sha256:")
		runID := norm(sk("run", "-d", "--name", run, "-v", "sys-p-vol:/v", "sys-p-used", "sleep", "1000").stdout)
		sk("run", "--name", "sys-p-stopped", "sys-p-used", "true")
		stoppedID := norm(sk("inspect", "-f", "{{.Id}}", "sys-p-stopped").stdout)
		sk("volume", "create", "sys-p-free")

		snapshot := func() string {
			return strings.Join([]string{
				strings.Join(lines(sk("ps", "-a", "-q", "--no-trunc").stdout), " "),
				strings.Join(lines(sk("images", "-q", "--no-trunc").stdout), " "),
				strings.Join(lines(sk("volume", "ls", "-q").stdout), " "),
			}, " | ")
		}
		before := snapshot()

		// without -f it asks; anything but y leaves the store as it was
		for _, answer := range []string{"n\n", "", "yes please\n"} {
			r := m.exec(opts{stdin: strings.NewReader(answer)}, append([]string{skiffBin}, with("system", "prune", "--volumes")...)...)
			if r.code != 0 || !strings.Contains(r.stdout, "WARNING! This will remove:") || !strings.Contains(r.stdout, "Are you sure you want to continue? [y/N]") ||
				!strings.Contains(r.stdout, "volumes not used by at least one container") {
				t.Errorf("system prune answered %q: want docker's warning and exit 0: %v", answer, r)
			}
			if after := snapshot(); after != before {
				t.Errorf("system prune answered %q removed something:\nbefore %s\nafter  %s", answer, before, after)
			}
		}

		// --filter: only what matches. label= removes a stopped container with the label, not
		// one without it nor the dangling image (no labels); until= in the past removes nothing
		sk("run", "--name", "sys-p-labelled", "--label", "prune=me", "sys-p-used", "true")
		labelledID := norm(sk("inspect", "-f", "{{.Id}}", "sys-p-labelled").stdout)
		r := sk("system", "prune", "-f", "--filter", "label=prune=me")
		if !strings.Contains(r.stdout, "Deleted Containers:\n"+labelledID+"\n") || strings.Contains(r.stdout, stoppedID) || strings.Contains(r.stdout, dangling) {
			t.Errorf("system prune --filter label=prune=me: %q", r.stdout)
		}
		if after := snapshot(); after != before {
			t.Errorf("system prune --filter label=: left %s, want %s", after, before)
		}
		r = sk("system", "prune", "-f", "--volumes", "--filter", "label!=nothing-has-this", "--filter", "label=prune=me")
		if strings.Contains(r.stdout, "Deleted") {
			t.Errorf("system prune with filters nothing matches: %q", r.stdout)
		}
		sk("system", "prune", "-f", "--filter", "until=2000-01-01T00:00:00")
		if after := snapshot(); after != before {
			t.Errorf("system prune --filter until=2000: left %s, want %s", after, before)
		}
		// container prune takes the same filters
		sk("run", "--name", "sys-p-labelled2", "--label", "prune=me", "sys-p-used", "true")
		labelledID = norm(sk("inspect", "-f", "{{.Id}}", "sys-p-labelled2").stdout)
		if r := sk("container", "prune", "-f", "--filter", "label=prune=me"); norm(r.stdout) != labelledID {
			t.Errorf("container prune --filter label=prune=me: %q, want %s", r.stdout, labelledID)
		}
		wantOneLineError(t, m, "system prune --filter until=soon", m.skiff(with("system", "prune", "-f", "--filter", "until=soon")...), "until takes a duration")
		wantOneLineError(t, m, "system prune --filter dangling=true", m.skiff(with("system", "prune", "-f", "--filter", "dangling=true")...), "until, label and label!")
		wantOneLineError(t, m, "system prune --volumes --filter until", m.skiff(with("system", "prune", "-f", "--volumes", "--filter", "until=1h")...), "does not apply to volumes")
		if after := snapshot(); after != before {
			t.Errorf("refused prunes changed the store: left %s, want %s", after, before)
		}

		// -f: the stopped container and the dangling image, not the running container, its
		// image, a tagged image or a volume
		r = sk("system", "prune", "-f")
		out := r.stdout
		for _, s := range []string{"Deleted Containers:\n" + stoppedID + "\n", "Deleted Images:\ndeleted: sha256:" + dangling + "\n", "Total reclaimed space: "} {
			if !strings.Contains(out, s) {
				t.Errorf("system prune -f: no %q in %q", s, out)
			}
		}
		if strings.Contains(out, runID) || strings.Contains(out, "Deleted Volumes") {
			t.Errorf("system prune -f: removed too much: %q", out)
		}
		if got := lines(sk("ps", "-a", "-q", "--no-trunc").stdout); len(got) != 1 || got[0] != runID {
			t.Errorf("system prune -f: containers left: %v, want only the running one", got)
		}
		imgs := lines(sk("images", "--format", "{{.Repository}}").stdout)
		if len(imgs) != 2 || !contains(imgs, "localhost/sys-p-used") || !contains(imgs, "localhost/sys-p-unused") {
			t.Errorf("system prune -f: images left: %v", imgs)
		}
		if vols := lines(sk("volume", "ls", "-q").stdout); len(vols) != 2 {
			t.Errorf("system prune -f (no --volumes) removed volumes: %v", vols)
		}

		// --volumes: the volume no container mounts
		r = sk("system", "prune", "-f", "--volumes")
		if !strings.Contains(r.stdout, "Deleted Volumes:\nsys-p-free\n") || strings.Contains(r.stdout, "sys-p-vol") {
			t.Errorf("system prune -f --volumes: %q", r.stdout)
		}
		if vols := lines(sk("volume", "ls", "-q").stdout); len(vols) != 1 || vols[0] != "sys-p-vol" {
			t.Errorf("system prune -f --volumes: volumes left: %v", vols)
		}

		// -a, answered y: every image no container uses
		r = m.exec(opts{stdin: strings.NewReader("y\n")}, append([]string{skiffBin}, with("system", "prune", "-a")...)...)
		if r.code != 0 || !strings.Contains(r.stdout, "images without at least one container") || !strings.Contains(r.stdout, "untagged: localhost/sys-p-unused:latest") {
			t.Errorf("system prune -a, answered y: %v", r)
		}
		if imgs := lines(sk("images", "--format", "{{.Repository}}").stdout); len(imgs) != 1 || imgs[0] != "localhost/sys-p-used" {
			t.Errorf("system prune -a: images left: %v, want the one the running container uses", imgs)
		}

		// once the container is gone, everything goes
		sk("rm", "-f", run)
		r = sk("system", "prune", "-af", "--volumes")
		if !strings.Contains(r.stdout, "Deleted Volumes:\nsys-p-vol\n") || !strings.Contains(r.stdout, "untagged: localhost/sys-p-used:latest") {
			t.Errorf("system prune -af --volumes: %q", r.stdout)
		}
		if after := snapshot(); after != " |  | " {
			t.Errorf("system prune -af --volumes left: %q", after)
		}

		wantOneLineError(t, m, "system prune ARG", m.skiff(with("system", "prune", "-f", "extra")...), "no arguments")
		wantOneLineError(t, m, "system prune --nope", m.skiff(with("system", "prune", "--nope")...), "--nope")
	})
}
