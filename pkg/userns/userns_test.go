package userns

import (
	"strings"
	"testing"
)

func TestParseIDMap(t *testing.T) {
	tests := []struct {
		in      string
		want    []IDMap
		wantErr bool
	}{
		{"         0       1000          1\n         1     100000      65536\n", []IDMap{{0, 1000, 1}, {1, 100000, 65536}}, false},
		{"0 0 4294967295\n", []IDMap{{0, 0, 4294967295}}, false},
		{"", nil, false},
		{"0 1000\n", nil, true},
		{"a b c\n", nil, true},
	}
	for _, tt := range tests {
		got, err := ParseIDMap(strings.NewReader(tt.in))
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseIDMap(%q) err = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("ParseIDMap(%q) = %v, want %v", tt.in, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("ParseIDMap(%q)[%d] = %v, want %v", tt.in, i, got[i], tt.want[i])
			}
		}
	}
}

func TestMapped(t *testing.T) {
	maps := []IDMap{{0, 1000, 1}, {1, 100000, 65536}}
	for _, tt := range []struct {
		id   uint64
		want bool
	}{{0, true}, {1, true}, {1000, true}, {65536, true}, {65537, false}} {
		if got := Mapped(maps, tt.id); got != tt.want {
			t.Errorf("Mapped(%d) = %v, want %v", tt.id, got, tt.want)
		}
	}
	if Mapped([]IDMap{{0, 1000, 1}}, 1000) {
		t.Error("single-id map must not cover 1000")
	}
}

func TestParseSubIDs(t *testing.T) {
	file := "# comment\nalice:100000:65536\nbob:165536:65536\n1001:300000:1000\nalice:500000:10\nbroken:line\ncarol:1:0\n"
	tests := []struct {
		name string
		id   int
		want []SubIDRange
	}{
		{"alice", 1000, []SubIDRange{{100000, 65536}, {500000, 10}}},
		{"bob", 1002, []SubIDRange{{165536, 65536}}},
		{"dave", 1001, []SubIDRange{{300000, 1000}}},
		{"carol", 5, nil},
		{"nobody", 9, nil},
	}
	for _, tt := range tests {
		got, err := ParseSubIDs(strings.NewReader(file), tt.name, tt.id)
		if err != nil {
			t.Fatal(err)
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
