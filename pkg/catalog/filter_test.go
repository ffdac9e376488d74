package catalog

import (
	"testing"
	"time"

	"github.com/skiff-project/skiff/pkg/image"
)

func TestImageFilter(t *testing.T) {
	now := time.Now()
	old := &Image{ID: "a", Names: []string{"localhost/busybox:latest"}, Created: now.Add(-time.Hour),
		Config: image.Config{Config: image.ImageConfig{Labels: map[string]string{"app": "web"}}}}
	hub := &Image{ID: "b", Names: []string{"docker.io/library/debian:12"}, Created: now}
	dangling := &Image{ID: "c", Created: now}
	b, f := true, false
	tests := []struct {
		name string
		f    ImageFilter
		want []string
	}{
		{"none", ImageFilter{}, []string{"a", "b", "c"}},
		{"dangling", ImageFilter{dangling: &b}, []string{"c"}},
		{"not dangling", ImageFilter{dangling: &f}, []string{"a", "b"}},
		{"short reference", ImageFilter{references: []string{"busybox"}}, []string{"a"}},
		{"glob", ImageFilter{references: []string{"deb*"}}, []string{"b"}},
		{"with tag", ImageFilter{references: []string{"debian:12"}}, []string{"b"}},
		{"full", ImageFilter{references: []string{"localhost/busybox:latest"}}, []string{"a"}},
		{"label key", ImageFilter{labels: [][2]string{{"app", ""}}}, []string{"a"}},
		{"label value", ImageFilter{labels: [][2]string{{"app", "db"}}}, nil},
		{"before", ImageFilter{before: &now}, []string{"a"}},
	}
	for _, tt := range tests {
		var got []string
		for _, img := range tt.f.Apply([]*Image{old, hub, dangling}) {
			got = append(got, img.ID)
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
			}
		}
	}
}

func TestUsesLabels(t *testing.T) {
	for fs, want := range map[string]bool{"": false, "dangling=true": false, "label=app": true, "reference=x": false} {
		var list []string
		if fs != "" {
			list = []string{fs}
		}
		f, err := ParseImageFilters(list, nil)
		if err != nil || f.UsesLabels() != want {
			t.Errorf("%q: UsesLabels %v (%v), want %v", fs, f.UsesLabels(), err, want)
		}
	}
}
