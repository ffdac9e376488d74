package integration

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestNamedVolumes(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		vol := "itvol-" + m.name
		m.skiff("volume", "rm", "-f", vol)
		// made on first use, kept across containers, files of any container user included
		if r := m.skiff("run", "--rm", "-v", vol+":/data", "bbtest", "sh", "-c", "echo kept > /data/f && mkdir /data/u && chown 1000:1000 /data/u"); r.code != 0 {
			t.Fatalf("write to a new volume: %v", r)
		}
		if r := m.skiff("run", "--rm", "-u", "1000", "-v", vol+":/data", "bbtest", "sh", "-c", "echo mine > /data/u/g && cat /data/f"); r.code != 0 || norm(r.stdout) != "kept" {
			t.Fatalf("read it back: %v", r)
		}
		if r := m.skiff("run", "--rm", "-v", vol+":/data:ro", "bbtest", "sh", "-c", "touch /data/x"); r.code == 0 {
			t.Errorf("a :ro volume was writable: %v", r)
		}
		if r := m.skiff("volume", "ls", "--format", "{{.Name}}"); !contains(lines(r.stdout), vol) {
			t.Errorf("volume ls: %v", r)
		}
		r := m.skiff("volume", "inspect", vol)
		var vs []struct{ Name, Driver, Mountpoint string }
		if err := json.Unmarshal([]byte(r.stdout), &vs); err != nil || len(vs) != 1 || vs[0].Name != vol || vs[0].Driver != "local" || !strings.HasSuffix(vs[0].Mountpoint, "/"+vol+"/_data") {
			t.Errorf("volume inspect: %v (%v)", r, err)
		}
		if r := m.skiff("volume", "inspect", "--format", "{{.Name}} {{.Driver}}", vol); r.code != 0 || norm(r.stdout) != vol+" local" {
			t.Errorf("volume inspect --format: %v", r)
		}
		// a volume a container uses is removed only with -f; prune keeps it
		id := runDetached(t, m, "-v", vol+":/data", "bbtest", "sleep", "1000")
		if r := m.skiff("volume", "rm", vol); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "in use") {
			t.Errorf("volume rm of a volume in use: %v", r)
		}
		if r := m.skiff("volume", "prune"); strings.Contains(r.stdout, vol) {
			t.Errorf("volume prune removed a volume in use: %v", r)
		}
		m.skiff("rm", "-f", id)
		if r := m.skiff("volume", "prune", "-f"); r.code != 0 || !contains(lines(r.stdout), vol) {
			t.Errorf("volume prune: want %s removed: %v", vol, r)
		}
		if r := m.skiff("volume", "ls", "-q"); contains(lines(r.stdout), vol) {
			t.Errorf("the pruned volume is still listed: %v", r)
		}
		// create, then rm
		if r := m.skiff("volume", "create", vol); r.code != 0 || norm(r.stdout) != vol {
			t.Errorf("volume create: %v", r)
		}
		if r := m.skiff("volume", "create", vol); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "already exists") {
			t.Errorf("volume create of an existing one: %v", r)
		}
		if r := m.skiff("volume", "rm", vol); r.code != 0 || norm(r.stdout) != vol {
			t.Errorf("volume rm: %v", r)
		}
		for _, bad := range [][]string{{"volume", "create", "-bad"}, {"volume", "rm", "no-such-volume"}, {"run", "--rm", "-v", "a b:/x", "bbtest", "true"}} {
			if r := m.skiff(bad...); checkOneLineError(r) != "" {
				t.Errorf("%v: want a one-line error: %v", bad, r)
			}
		}
	})
}

func TestLinksAndAddHost(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		db := "linkdb-" + m.name
		m.skiff("rm", "-f", db)
		runDetached(t, m, "--name", db, "-e", "SECRET=s3", "bbtest", "sleep", "1000")
		defer m.skiff("rm", "-f", db)
		r := m.skiff("run", "--rm", "--name", "linkweb-"+m.name, "--link", db+":db", "bbtest", "env")
		env := lines(r.stdout)
		for _, want := range []string{"DB_NAME=/linkweb-" + m.name + "/db", "DB_ENV_SECRET=s3"} {
			if !contains(env, want) {
				t.Errorf("--link: want %s: %v", want, r)
			}
		}
		if strings.Contains(r.stdout, "DB_ENV_PATH=") {
			t.Errorf("--link passes PATH: %v", r)
		}
		if r := m.skiff("run", "--rm", "--link", "no-such-ctr", "bbtest", "true"); checkOneLineError(r) != "" {
			t.Errorf("--link to a missing container: %v", r)
		}
		if r := m.skiff("run", "--rm", "--add-host", "db.local:10.1.2.3", "bbtest", "cat", "/etc/hosts"); r.code != 0 || !strings.Contains(r.stdout, "10.1.2.3\tdb.local\n") {
			t.Errorf("--add-host: %v", r)
		}
		if r := m.skiff("run", "--rm", "--add-host", "nohost", "bbtest", "true"); checkOneLineError(r) != "" || !strings.Contains(r.stderr, "--add-host") {
			t.Errorf("bad --add-host: %v", r)
		}
	})
}

// volumeNames lists the mode's volumes.
func volumeNames(t *testing.T, m *mode) []string {
	t.Helper()
	r := m.skiff("volume", "ls", "-q")
	if r.code != 0 {
		t.Fatalf("volume ls: %v", r)
	}
	return lines(r.stdout)
}

// newVolumes are the volumes of after that were not in before.
func newVolumes(before, after []string) []string {
	var out []string
	for _, v := range after {
		if !contains(before, v) {
			out = append(out, v)
		}
	}
	return out
}

func TestVolumeCopyUp(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		vol := "itcopy-" + m.name
		m.skiff("volume", "rm", "-f", vol, vol+"b", vol+"c")
		// a new volume gets what the image has at its path: files, and the directory's mode
		r := m.skiff("run", "--rm", "-v", vol+":/etc", "bbtest", "sh", "-c", "grep -c root /etc/passwd")
		if r.code != 0 || norm(r.stdout) != "1" {
			t.Fatalf("a new volume on /etc does not hold the image's passwd: %v", r)
		}
		want := m.skiff("run", "--rm", "bbtest", "stat", "-c", "%a %u", "/tmp")
		r = m.skiff("run", "--rm", "-v", vol+"b:/tmp", "bbtest", "stat", "-c", "%a %u", "/tmp")
		if r.code != 0 || norm(r.stdout) != norm(want.stdout) {
			t.Errorf("a new volume on /tmp: want the image's mode and owner %q: %v", want.stdout, r)
		}
		// the copy is the volume's: a container with another path sees it
		r = m.skiff("run", "--rm", "-v", vol+":/v", "bbtest", "sh", "-c", "ls /v | grep -c passwd")
		if r.code != 0 || norm(r.stdout) != "1" {
			t.Errorf("the copied files are not in the volume: %v", r)
		}
		// only the first mount copies: a volume emptied by its user stays empty
		m.mustSkiff(t, "run", "--rm", "-v", vol+":/v", "bbtest", "sh", "-c", "rm -rf /v/*")
		r = m.skiff("run", "--rm", "-v", vol+":/etc", "bbtest", "sh", "-c", "ls /etc | grep -c passwd")
		if norm(r.stdout) != "0" {
			t.Errorf("a used volume got the image's files again: %v", r)
		}
		// nocopy, and --mount's volume-nocopy
		for i, args := range [][]string{{"-v", vol + "c:/etc:nocopy"}, {"--mount", "type=volume,src=" + vol + "c,dst=/etc,volume-nocopy"}} {
			m.skiff("volume", "rm", "-f", vol+"c")
			r = m.skiff(append(append([]string{"run", "--rm"}, args...), "bbtest", "sh", "-c", "ls /etc | grep -c passwd")...)
			if norm(r.stdout) != "0" {
				t.Errorf("case %d: %v copied the image's files: %v", i, args, r)
			}
		}
		m.skiff("volume", "rm", "-f", vol, vol+"b", vol+"c")
	})
}

func TestAnonymousVolumes(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		before := volumeNames(t, m)
		// --rm removes its anonymous volumes
		m.mustSkiff(t, "run", "--rm", "-v", "/anon", "bbtest", "sh", "-c", "echo x > /anon/f")
		if n := newVolumes(before, volumeNames(t, m)); len(n) != 0 {
			t.Errorf("run --rm -v /anon left volumes %v", n)
		}
		// a kept container keeps its volume until rm -v
		id := runDetached(t, m, "-v", "/anon", "bbtest", "sh", "-c", "echo kept > /anon/f; sleep 1014")
		made := newVolumes(before, volumeNames(t, m))
		if len(made) != 1 || !containerID.MatchString(made[0]) {
			t.Fatalf("run -v /anon made volumes %v, want one with a 64-hex name", made)
		}
		r := m.skiff("inspect", "--format", "{{range .Mounts}}{{.Type}} {{.Name}} {{.Destination}}{{end}}", id)
		if r.code != 0 || norm(r.stdout) != "volume "+made[0]+" /anon" {
			t.Errorf("inspect .Mounts of an anonymous volume: %v", r)
		}
		if r := m.skiff("volume", "inspect", made[0]); !strings.Contains(r.stdout, "com.docker.volume.anonymous") {
			t.Errorf("an anonymous volume lacks docker's label: %v", r)
		}
		// --volumes-from shares it, read-only when asked
		r = m.skiff("run", "--rm", "--volumes-from", id+":ro", "bbtest", "sh", "-c", "cat /anon/f; touch /anon/g")
		if r.code == 0 || !strings.Contains(r.stdout, "kept") || !strings.Contains(r.stderr, "Read-only") {
			t.Errorf("--volumes-from ID:ro: want the file read and the write refused: %v", r)
		}
		r = m.skiff("run", "--rm", "--volumes-from", id, "bbtest", "sh", "-c", "echo more >> /anon/f && cat /anon/f")
		if r.code != 0 || norm(r.stdout) != "kept\nmore" {
			t.Errorf("--volumes-from ID: %v", r)
		}
		for _, bad := range [][]string{{"--volumes-from", "no-such-container-x"}, {"--volumes-from", id + ":rx"}} {
			if r := m.skiff(append(append([]string{"run", "--rm"}, bad...), "bbtest", "true")...); checkOneLineError(r) != "" || r.code != 125 {
				t.Errorf("run %v: want a one-line error and 125: %v", bad, r)
			}
		}
		m.mustSkiff(t, "rm", "-f", id)
		if !contains(volumeNames(t, m), made[0]) {
			t.Errorf("rm without -v removed the anonymous volume")
		}
		m.skiff("volume", "rm", made[0])
		id = runDetached(t, m, "-v", "/anon", "bbtest", "sleep", "1014")
		made = newVolumes(before, volumeNames(t, m))
		m.mustSkiff(t, "rm", "-f", "-v", id)
		if n := newVolumes(before, volumeNames(t, m)); len(n) != 0 {
			t.Errorf("rm -v left %v (made %v)", n, made)
		}
	})
}

func TestImageVolumes(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		img := "localhost/volimg-" + m.name
		m.mustSkiff(t, "import", "-c", `VOLUME ["/etc", "/srv/data"]`, bbTar, img)
		defer m.skiff("rmi", "-f", img)
		before := volumeNames(t, m)
		// each VOLUME gets an anonymous volume holding the image's files there
		id := runDetached(t, m, img, "sleep", "1014")
		made := newVolumes(before, volumeNames(t, m))
		if len(made) != 2 {
			t.Errorf("a run of an image with two VOLUMEs made volumes %v", made)
		}
		r := m.skiff("exec", id, "sh", "-c", "grep -c root /etc/passwd; mount | grep -cE ' /(etc|srv/data) '")
		if r.code != 0 || norm(r.stdout) != "1\n2" {
			t.Errorf("the image's volumes: want /etc/passwd copied and two mounts: %v", r)
		}
		m.mustSkiff(t, "rm", "-f", "-v", id)
		if n := newVolumes(before, volumeNames(t, m)); len(n) != 0 {
			t.Errorf("rm -v left the image's volumes %v", n)
		}
		// -v, --mount and --tmpfs on those paths take their place
		vol := "itimgvol-" + m.name
		r = m.skiff("run", "--rm", "-v", vol+":/etc", "--tmpfs", "/srv/data", img, "sh", "-c", "mount | grep -E ' /srv/data ' | cut -d' ' -f5")
		if r.code != 0 || norm(r.stdout) != "tmpfs" {
			t.Errorf("--tmpfs over an image VOLUME: %v", r)
		}
		if n := newVolumes(before, volumeNames(t, m)); len(n) != 1 || n[0] != vol {
			t.Errorf("with -v and --tmpfs on the image's VOLUMEs, new volumes are %v, want only %s", n, vol)
		}
		m.skiff("volume", "rm", "-f", vol)
	})
}

func TestMountFlag(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		host := hostDir(t, m, "mount")
		vol := "itmount-" + m.name
		m.skiff("volume", "rm", "-f", vol)
		r := m.skiff("run", "--rm",
			"--mount", "type=bind,source="+host+",target=/h",
			"--mount", "type=bind,src="+host+",dst=/hro,readonly",
			"--mount", "type=volume,source="+vol+",target=/v",
			"--mount", "type=tmpfs,destination=/t,tmpfs-size=1m",
			"bbtest", "sh", "-c", "echo w > /h/f && cat /hro/f && ! touch /hro/g 2>/dev/null && echo v > /v/f && df -k /t | tail -1 | awk '{print $2}'")
		if r.code != 0 || norm(r.stdout) != "w\n1024" {
			t.Errorf("--mount bind, bind readonly, volume, tmpfs: %v", r)
		}
		if !contains(volumeNames(t, m), vol) {
			t.Errorf("--mount type=volume did not make volume %s", vol)
		}
		for _, bad := range []string{"type=bind,target=/x", "type=nfs,target=/x", "source=/tmp,target=/x", "type=bind,source=/tmp", "type=bind,src=/tmp,dst=/x,bogus=1", "type=bind,source=/no/such/dir,target=/x"} {
			if r := m.skiff("run", "--rm", "--mount", bad, "bbtest", "true"); checkOneLineError(r) != "" || r.code != 125 {
				t.Errorf("--mount %s: want a one-line error and 125: %v", bad, r)
			}
		}
		m.skiff("volume", "rm", "-f", vol)
	})
}
