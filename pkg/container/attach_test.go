package container

import (
	"bytes"
	"testing"
)

func TestParseDetachKeys(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []byte
		bad  bool
	}{
		{in: "ctrl-p,ctrl-q", want: []byte{16, 17}},
		{in: "ctrl-P,ctrl-Q", want: []byte{16, 17}},
		{in: "ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", want: []byte{0, 27, 28, 29, 30, 31}},
		{in: "a,ctrl-a,z", want: []byte{'a', 1, 'z'}},
		{in: "", want: nil},
		{in: "ctrl-1", bad: true},
		{in: "ctrl-", bad: true},
		{in: "ctrl-p,", bad: true},
		{in: "ab", bad: true},
		{in: "ctrl-pq", bad: true},
	} {
		got, err := ParseDetachKeys(c.in)
		if c.bad {
			if err == nil {
				t.Errorf("ParseDetachKeys(%q) = %v, want an error", c.in, got)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, c.want) {
			t.Errorf("ParseDetachKeys(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

func TestKeyScanner(t *testing.T) {
	const p, q = 16, 17
	for _, c := range []struct {
		name   string
		keys   []byte
		reads  [][]byte
		want   []byte // all that went on
		detach bool
	}{
		{"plain", []byte{p, q}, [][]byte{[]byte("ls\r")}, []byte("ls\r"), false},
		{"the keys", []byte{p, q}, [][]byte{{'a', p, q, 'b'}}, []byte("a"), true},
		{"split across reads", []byte{p, q}, [][]byte{{'a', p}, {q}}, []byte("a"), true},
		{"a prefix then something else", []byte{p, q}, [][]byte{{p, 'x'}}, []byte{p, 'x'}, false},
		{"a prefix held, then released", []byte{p, q}, [][]byte{{'a', p}, {'b'}}, []byte{'a', p, 'b'}, false},
		{"the first key twice", []byte{p, q}, [][]byte{{p, p, q}}, []byte{p}, true},
		{"no keys", nil, [][]byte{{p, q}}, []byte{p, q}, false},
		{"one key", []byte{'x'}, [][]byte{[]byte("abxc")}, []byte("ab"), true},
	} {
		k := keyScanner{keys: c.keys}
		var got []byte
		detach := false
		for _, r := range c.reads {
			out, d := k.scan(r)
			got = append(got, out...)
			if d {
				detach = true
				break
			}
		}
		if !bytes.Equal(got, c.want) || detach != c.detach {
			t.Errorf("%s: passed on %q, detach %v; want %q, %v", c.name, got, detach, c.want, c.detach)
		}
	}
}
