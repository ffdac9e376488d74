package container

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ParseLabels reads run's --label-file files, then its --label values, into a map as docker
// does: KEY=VALUE, or KEY alone for an empty value; a later value of a key wins, so --label
// overrides the files.
func ParseLabels(files, labels []string) (map[string]string, error) {
	var kvs []string
	for _, f := range files {
		lines, err := readLabelFile(f)
		if err != nil {
			return nil, err
		}
		kvs = append(kvs, lines...)
	}
	for _, l := range labels {
		if k, _, _ := strings.Cut(l, "="); strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("invalid --label %q: it has no name: use KEY=VALUE", l)
		}
		kvs = append(kvs, l)
	}
	if len(kvs) == 0 {
		return nil, nil
	}
	m := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m, nil
}

// readLabelFile reads docker's label file: a KEY=VALUE (or KEY) a line, # comments and blank
// lines skipped, leading white space ignored.
func readLabelFile(name string) ([]string, error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("invalid --label-file %s: %w: give a readable file of KEY=VALUE lines", name, unwrapPath(err))
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimLeftFunc(sc.Text(), unicode.IsSpace)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if !utf8.ValidString(line) {
			return nil, fmt.Errorf("invalid --label-file %s: line %d is not valid UTF-8: save the file as UTF-8", name, n)
		}
		k, _, _ := strings.Cut(line, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid --label-file %s: line %d (%q) has no name: write KEY=VALUE", name, n, line)
		}
		if strings.ContainsFunc(k, unicode.IsSpace) {
			return nil, fmt.Errorf("invalid --label-file %s: line %d: the name %q contains white space: write KEY=VALUE", name, n, k)
		}
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("invalid --label-file %s: %w: give a text file of KEY=VALUE lines", name, err)
	}
	return out, nil
}

// unwrapPath drops the path an *os.PathError repeats.
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// MergeLabels returns the image's labels overlaid with the run's, the container's labels as
// docker records them (nil when there are none).
func MergeLabels(image, run map[string]string) map[string]string {
	if len(image) == 0 && len(run) == 0 {
		return nil
	}
	m := make(map[string]string, len(image)+len(run))
	for k, v := range image {
		m[k] = v
	}
	for k, v := range run {
		m[k] = v
	}
	return m
}

// MatchLabel is docker's label filter on one container: "KEY" matches when the container has
// the label, "KEY=VALUE" when it has it with that value.
func MatchLabel(labels map[string]string, filter string) bool {
	k, want, hasValue := strings.Cut(filter, "=")
	v, ok := labels[k]
	return ok && (!hasValue || v == want)
}

// JoinLabels is docker's ps {{.Labels}}: k=v pairs joined by commas (sorted by key here, so
// that the output is stable).
func JoinLabels(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + labels[k])
	}
	return b.String()
}
