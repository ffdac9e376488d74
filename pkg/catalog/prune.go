package catalog

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// PruneFilter is a parsed set of docker's prune filters (system, container and image prune):
// until=TIME keeps what was created at or after TIME, label=KEY[=VALUE] prunes only what has
// the label, label!=KEY[=VALUE] only what lacks it. All must hold; nil passes everything.
type PruneFilter struct {
	until     *time.Time
	labels    [][2]string
	notLabels [][2]string
}

// ParsePruneFilters parses --filter values of a prune; an until given as a duration ("24h")
// counts back from now.
func ParsePruneFilters(fs []string, now time.Time) (*PruneFilter, error) {
	if len(fs) == 0 {
		return nil, nil
	}
	f := &PruneFilter{}
	for _, x := range fs {
		if err := f.add(x, now); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// add parses one --filter value of a prune into f.
func (f *PruneFilter) add(x string, now time.Time) error {
	k, v, ok := strings.Cut(x, "=")
	if !ok || v == "" {
		return fmt.Errorf("invalid --filter %q: use until=TIME, label=KEY[=VALUE] or label!=KEY[=VALUE]", x)
	}
	switch k {
	case "until":
		t, err := parseUntil(v, now)
		if err != nil {
			return fmt.Errorf("invalid --filter %q: %w", x, err)
		}
		f.until = &t
	case "label", "label!":
		lk, lv, _ := strings.Cut(v, "=")
		if k == "label" {
			f.labels = append(f.labels, [2]string{lk, lv})
		} else {
			f.notLabels = append(f.notLabels, [2]string{lk, lv})
		}
	default:
		return fmt.Errorf("invalid --filter %q: a prune takes until, label and label!", x)
	}
	return nil
}

// parseUntil reads docker's until: a duration before now (10m, 24h), a Unix time (seconds,
// with fractions), or a date and time (RFC 3339, 2006-01-02T15:04:05, 2006-01-02; UTC unless
// it says otherwise).
func parseUntil(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		return time.Unix(0, int64(secs*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("until takes a duration (24h), a Unix time or a date (2006-01-02T15:04:05)")
}

// UsesUntil reports whether the filter has an until.
func (f *PruneFilter) UsesUntil() bool { return f != nil && f.until != nil }

// Match reports whether something created at created with labels is to be pruned.
func (f *PruneFilter) Match(created time.Time, labels map[string]string) bool {
	if f == nil {
		return true
	}
	if f.until != nil && !created.Before(*f.until) {
		return false
	}
	has := func(l [2]string) bool {
		v, ok := labels[l[0]]
		return ok && (l[1] == "" || v == l[1])
	}
	for _, l := range f.labels {
		if !has(l) {
			return false
		}
	}
	for _, l := range f.notLabels {
		if has(l) {
			return false
		}
	}
	return true
}

// Images is the image filter of a prune: the images it passes.
func (f *PruneFilter) Images() *ImageFilter {
	if f == nil {
		return nil
	}
	return &ImageFilter{prune: f}
}
