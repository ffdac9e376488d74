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
