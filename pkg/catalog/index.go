package catalog

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The index is skiff's cache of a store's images.json and layers.json in a form that is read
// in microseconds (encoding/json takes about 0.1 ms per image, on every run). It records the
// identity of the two files it was made from (device, inode, size, modification time; the
// storage library replaces a file by renaming a new one into place, so any change gives a
// new inode) and is used only while both are unchanged; otherwise the JSON is read and the
// index rewritten. It is a cache: losing it, or failing to write it, costs only time.
const indexVersion = "skiff-catalog-2"

func (c *Catalog) indexPath() string { return filepath.Join(c.Root, "skiff-catalog-"+c.Driver) }

// fileStamp identifies a file's current content; "-" when it does not exist.
func fileStamp(path string) string {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return "-"
	}
	return fmt.Sprintf("%d:%d:%d:%d.%d", st.Dev, st.Ino, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func undash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// writeIndex stores the catalog under stamp, atomically.
func (c *Catalog) writeIndex(stamp string) {
	if strings.HasPrefix(stamp, "- ") || strings.HasSuffix(stamp, " -") {
		return // a file is missing: nothing worth caching
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\n", indexVersion, stamp)
	for _, e := range c.images {
		created := int64(0)
		if !e.Created.IsZero() {
			created = e.Created.UnixNano()
		}
		cfgCreated := int64(0)
		if !e.ConfigCreated.IsZero() {
			cfgCreated = e.ConfigCreated.UnixNano()
		}
		fmt.Fprintf(&b, "i %s %s %s %d %d %d %s %s\n", e.ID, dash(e.TopLayer), dash(e.Digest), created, cfgCreated, e.DataSize,
			dash(strings.Join(e.Digests, ",")), strings.Join(e.Names, " "))
	}
	for _, l := range c.layers {
		inc := 0
		if b, _ := l.Flags["incomplete"].(bool); b {
			inc = 1
		}
		fmt.Fprintf(&b, "l %s %s %d %s %d\n", l.ID, dash(l.Parent), l.DiffSize, dash(l.DiffDigest), inc)
	}
	tmp := fmt.Sprintf("%s.tmp%d", c.indexPath(), os.Getpid())
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return
	}
	if err := os.Rename(tmp, c.indexPath()); err != nil {
		os.Remove(tmp)
	}
}

// readIndex loads the catalog from the index when it was made from the files stamp names.
func (c *Catalog) readIndex(stamp string) bool {
	f, err := os.Open(c.indexPath())
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	if !sc.Scan() || sc.Text() != indexVersion || !sc.Scan() || sc.Text() != stamp {
		return false
	}
	var images []entry
	layers := map[string]*Layer{}
	for sc.Scan() {
		w := strings.Split(sc.Text(), " ")
		switch {
		case len(w) >= 8 && w[0] == "i":
			created, err1 := strconv.ParseInt(w[4], 10, 64)
			cfgCreated, err2 := strconv.ParseInt(w[5], 10, 64)
			size, err3 := strconv.ParseInt(w[6], 10, 64)
			if err1 != nil || err2 != nil || err3 != nil {
				return false
			}
			e := entry{ID: w[1], TopLayer: undash(w[2]), Digest: undash(w[3]), DataSize: size}
			if created != 0 {
				e.Created = time.Unix(0, created).UTC()
			}
			if cfgCreated != 0 {
				e.ConfigCreated = time.Unix(0, cfgCreated).UTC()
			}
			if d := undash(w[7]); d != "" {
				e.Digests = strings.Split(d, ",")
			}
			for _, n := range w[8:] {
				if n != "" {
					e.Names = append(e.Names, n)
				}
			}
			images = append(images, e)
		case len(w) == 6 && w[0] == "l":
			size, err := strconv.ParseInt(w[3], 10, 64)
			if err != nil {
				return false
			}
			l := &Layer{ID: w[1], Parent: undash(w[2]), DiffSize: size, DiffDigest: undash(w[4])}
			if w[5] == "1" {
				l.Flags = map[string]any{"incomplete": true}
			}
			layers[l.ID] = l
		default:
			return false
		}
	}
	if sc.Err() != nil {
		return false
	}
	c.images, c.layers = images, layers
	return true
}
