package main

import (
	"bytes"
	"testing"
)

// TestPrintRows: field-only formats (the fast path) print what text/template prints.
func TestPrintRows(t *testing.T) {
	rows := []imageRow{{ID: "abc", Repository: "localhost/x", Tag: "1", Size: "2MB", Names: []string{"a", "b"}}}
	def := "table {{.Repository}}\t{{.Tag}}\t{{.ID}}"
	header := []string{"REPOSITORY", "TAG", "IMAGE ID"}
	tests := []struct{ format, want string }{
		{"", "REPOSITORY    TAG   IMAGE ID\nlocalhost/x   1     abc\n"},
		{"{{.ID}}", "abc\n"},
		{`{{.ID}}\t{{.Size}}`, "abc\t2MB\n"},
		{"table {{.ID}}\t{{.Size}}", "abc   2MB\n"},
		{"{{.ID}} {{.Tag}}", "abc 1\n"},                  // not fields alone: text/template
		{`{{join .Names ","}}`, "a,b\n"},                 // a function: text/template
		{"{{.Names}}", "[a b]\n"},                        // a slice, as fmt prints it
		{"json", "[\n    {\n        \"Id\": \"abc\",\n"}, // prefix
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := printRows(&b, rows, tt.format, true, def, header); err != nil {
			t.Errorf("%q: %v", tt.format, err)
			continue
		}
		if got := b.String(); got != tt.want && !(tt.format == "json" && bytes.HasPrefix(b.Bytes(), []byte(tt.want))) {
			t.Errorf("%q printed %q, want %q", tt.format, got, tt.want)
		}
	}
	for _, bad := range []string{"{{.Nope}}", "{{.ID"} {
		if err := printRows(&bytes.Buffer{}, rows, bad, true, def, header); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}
