package container

import (
	"maps"
	"os"
	"path/filepath"
	"testing"
)

func TestParseLabels(t *testing.T) {
	dir := t.TempDir()
	file := func(body string) string {
		p := filepath.Join(dir, "f")
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		file   string // "" for none
		labels []string
		want   map[string]string
		bad    bool
	}{
		{labels: []string{"a=1", "b", "c=x=y"}, want: map[string]string{"a": "1", "b": "", "c": "x=y"}},
		{labels: []string{"a=1", "a=2"}, want: map[string]string{"a": "2"}},
		{file: "\xef\xbb\xbf# comment\n\n  a=1\nb=two words \nc\n", labels: []string{"a=over"}, want: map[string]string{"a": "over", "b": "two words ", "c": ""}},
		{labels: []string{"=x"}, bad: true},
		{labels: []string{" =x"}, bad: true},
		{file: "=1\n", bad: true},
		{file: "a b=1\n", bad: true},
		{file: "a=\xff\n", bad: true},
		{},
	}
	for _, tt := range tests {
		var files []string
		if tt.file != "" {
			files = []string{file(tt.file)}
		}
		got, err := ParseLabels(files, tt.labels)
		if tt.bad {
			if err == nil {
				t.Errorf("%q %q: no error", tt.file, tt.labels)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tt.want) {
			t.Errorf("%q %q: got %v, %v; want %v", tt.file, tt.labels, got, err, tt.want)
		}
	}
	if _, err := ParseLabels([]string{filepath.Join(dir, "missing")}, nil); err == nil {
		t.Error("a missing --label-file: no error")
	}
}

func TestMatchLabel(t *testing.T) {
	labels := map[string]string{"a": "1", "e": ""}
	for filter, want := range map[string]bool{"a": true, "a=1": true, "a=2": false, "e": true, "e=": true, "b": false, "a=": false} {
		if got := MatchLabel(labels, filter); got != want {
			t.Errorf("MatchLabel(%q) = %v, want %v", filter, got, want)
		}
	}
	if got := JoinLabels(map[string]string{"b": "2", "a": "1"}); got != "a=1,b=2" {
		t.Errorf("JoinLabels: %q", got)
	}
	if got := MergeLabels(map[string]string{"a": "img", "i": "x"}, map[string]string{"a": "run"}); !maps.Equal(got, map[string]string{"a": "run", "i": "x"}) {
		t.Errorf("MergeLabels: %v", got)
	}
}
