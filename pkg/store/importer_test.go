package store

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"testing"

	digest "github.com/opencontainers/go-digest"
)

type entry struct {
	name, link string
	typ        byte
}

func tarOf(t *testing.T, entries []entry, gz bool) *bytes.Buffer {
	t.Helper()
	var buf bytes.Buffer
	var tw *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		h := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644}
		if e.typ == tar.TypeReg {
			h.Size = 2
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte("hi"))
		}
	}
	tw.Close()
	if zw != nil {
		zw.Close()
	}
	return &buf
}

func TestCheckTarballDigest(t *testing.T) {
	plain := tarOf(t, []entry{{"etc/passwd", "", tar.TypeReg}}, false)
	want := digest.FromBytes(plain.Bytes())
	gz := tarOf(t, []entry{{"etc/passwd", "", tar.TypeReg}}, true)
	for _, in := range []*bytes.Buffer{plain, gz} {
		got, err := CheckTarball(bytes.NewReader(in.Bytes()))
		if err != nil || got != want {
			t.Errorf("CheckTarball digest = %s, %v; want %s (the uncompressed stream's)", got, err, want)
		}
	}
}

func TestCheckTarball(t *testing.T) {
	tests := []struct {
		name    string
		entries []entry
		gz      bool
		ok      bool
	}{
		{"plain", []entry{{"bin/", "", tar.TypeDir}, {"bin/busybox", "", tar.TypeReg}, {"bin/sh", "busybox", tar.TypeSymlink}}, false, true},
		{"gzip", []entry{{"./etc/passwd", "", tar.TypeReg}}, true, true},
		{"absolute symlink is fine", []entry{{"lib64/ld.so", "/lib/x86_64/ld.so", tar.TypeSymlink}}, false, true},
		{"relative symlink inside", []entry{{"usr/bin/x", "../lib/x", tar.TypeSymlink}}, false, true},
		{"leading slash stripped", []entry{{"/etc/hosts", "", tar.TypeReg}}, false, true},
		{"dotdot path", []entry{{"../escape", "", tar.TypeReg}}, false, false},
		{"hidden dotdot path", []entry{{"a/../../escape", "", tar.TypeReg}}, false, false},
		{"hardlink out", []entry{{"a", "", tar.TypeReg}, {"b", "../../etc/shadow", tar.TypeLink}}, false, false},
		{"symlink out", []entry{{"a/b", "../../../etc", tar.TypeSymlink}}, false, false},
		{"empty", nil, false, false},
	}
	for _, tt := range tests {
		_, err := CheckTarball(tarOf(t, tt.entries, tt.gz))
		if tt.ok && err != nil {
			t.Errorf("%s: unexpected error %v", tt.name, err)
		}
		if !tt.ok {
			var be *BadTarballError
			if !errors.As(err, &be) {
				t.Errorf("%s: err = %v, want BadTarballError", tt.name, err)
			}
		}
	}
	var be *BadTarballError
	if _, err := CheckTarball(bytes.NewBufferString("this is not a tarball at all, just some text that goes on for a while....................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................................")); !errors.As(err, &be) {
		t.Errorf("text: err = %v, want BadTarballError", err)
	}
}
