package catalog

import (
	"strings"
	"testing"
	"time"
)

func TestPruneFilter(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	old := now.Add(-48 * time.Hour)
	web := map[string]string{"app": "web", "tier": "front"}
	tests := []struct {
		filters []string
		created time.Time
		labels  map[string]string
		want    bool
	}{
		{nil, now, nil, true},
		{[]string{"until=24h"}, old, nil, true},
		{[]string{"until=24h"}, now, nil, false},
		{[]string{"until=2026-12-06"}, old, nil, true},
		{[]string{"until=2026-12-06T00:00:00"}, now, nil, false},
		{[]string{"until=2026-12-06T00:00:00Z"}, old, nil, true},
		{[]string{"until=1796000000"}, old, nil, false}, // 2026-11-30: old, 12-05, is after it
		{[]string{"until=1796000000"}, time.Unix(1795000000, 0), nil, true},
		{[]string{"label=app"}, now, web, true},
		{[]string{"label=app"}, now, nil, false},
		{[]string{"label=app=web"}, now, web, true},
		{[]string{"label=app=db"}, now, web, false},
		{[]string{"label!=app=db"}, now, web, true},
		{[]string{"label!=app"}, now, web, false},
		{[]string{"label!=app"}, now, nil, true},
		{[]string{"label=tier=front", "until=1h"}, old, web, true},
		{[]string{"label=tier=front", "until=1h"}, now, web, false},
	}
	for _, tc := range tests {
		f, err := ParsePruneFilters(tc.filters, now)
		if err != nil {
			t.Errorf("%v: %v", tc.filters, err)
			continue
		}
		if got := f.Match(tc.created, tc.labels); got != tc.want {
			t.Errorf("%v on %v %v: %v, want %v", tc.filters, tc.created, tc.labels, got, tc.want)
		}
		if got := f.Images().Match(&Image{Created: tc.created}); tc.labels == nil && got != tc.want {
			t.Errorf("%v as an image filter on %v: %v, want %v", tc.filters, tc.created, got, tc.want)
		}
	}
}

func TestPruneFilterErrors(t *testing.T) {
	for _, tc := range []struct{ filter, want string }{
		{"until", "use until=TIME"},
		{"until=", "use until=TIME"},
		{"until=yesterday", "until takes a duration"},
		{"dangling=true", "a prune takes until, label and label!"},
		{"label=", "use until=TIME"},
	} {
		_, err := ParsePruneFilters([]string{tc.filter}, time.Now())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error with %q", tc.filter, err, tc.want)
		}
	}
}
