package integration

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY makes a terminal of rows x cols: its master, and its other side for a command.
func openPTY(t *testing.T, rows, cols uint16) (master, tty *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open a terminal: %v", err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock the terminal: %v", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("the terminal's number: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open the terminal's other side: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatalf("size the terminal: %v", err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// TestAttachInput: attach passes its stdin to a container run with -i (a pipe its keeper holds
// open for the next client) or -t (its terminal: raw, sized, resized on SIGWINCH), leaves it
// running on the detach keys, and ends with its exit code.
func TestAttachInput(t *testing.T) {
	forModes(t, rangeModes, func(t *testing.T, m *mode) {
		name := "attach-in-" + m.name
		m.skiff("rm", "-f", name, name+"-t")
		script := `while read l; do [ "$l" = quit ] && exit 7; echo "got $l"; done; echo stdin-closed`
		id := runDetached(t, m, "-i", "--name", name, "bbtest", "sh", "-c", script)
		defer m.skiff("rm", "-f", id)

		// input to the first client; its end of input is not the container's
		pr, pw := io.Pipe()
		s := startArgvWith(t, m.argv(skiffBin, "attach", name), func(c *exec.Cmd) { c.Stdin = pr })
		fmt.Fprintln(pw, "one")
		if !s.waitLine("got one", 10*time.Second) {
			t.Fatalf("attach -i: the container did not read its input: %q %q", s.stdout.String(), s.stderr.String())
		}
		pw.Close()
		time.Sleep(300 * time.Millisecond)
		if r := m.skiff("ps", "--filter", "name="+name, "--format", "{{.Status}}"); !strings.HasPrefix(r.stdout, "Up") {
			t.Fatalf("the end of attach's input closed the container's stdin: %v", r)
		}
		syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		s.wait(t, 10*time.Second)

		// --no-stdin passes nothing; the next client's input reaches the same stdin
		quiet := startArgvWith(t, m.argv(skiffBin, "attach", "--no-stdin", name), func(c *exec.Cmd) { c.Stdin = strings.NewReader("ignored\n") })
		time.Sleep(300 * time.Millisecond)
		s2 := startArgvWith(t, m.argv(skiffBin, "attach", name), func(c *exec.Cmd) { c.Stdin = strings.NewReader("two\nquit\n") })
		r2 := s2.wait(t, 15*time.Second)
		if r2.code != 7 || !strings.Contains(r2.stdout, "got two") || strings.Contains(r2.stdout, "ignored") {
			t.Errorf("attach -i: want 'got two' and the container's exit code 7: %v", r2)
		}
		if rq := quiet.wait(t, 15*time.Second); rq.code != 7 || !strings.Contains(rq.stdout, "got two") || strings.Contains(rq.stdout, "ignored") {
			t.Errorf("attach --no-stdin: want the other client's output, none of its own input, exit code 7: %v", rq)
		}

		// -t: the user's terminal, its size, and the detach keys
		tid := runDetached(t, m, "-it", "--name", name+"-t", "bbtest", "sh")
		defer m.skiff("rm", "-f", tid)
		master, tty := openPTY(t, 30, 100)
		var screen syncBuffer
		go io.Copy(&screen, master)
		attach := func() *started {
			return startArgvWith(t, m.argv(skiffBin, "attach", name+"-t"), func(c *exec.Cmd) {
				c.Stdin, c.Stdout, c.Stderr = tty, tty, tty
			})
		}
		see := func(want string) {
			t.Helper()
			if !waitFor(10*time.Second, func() bool { return strings.Contains(screen.String(), want) }) {
				t.Fatalf("attach -t: %q never showed; the terminal has %q", want, screen.String())
			}
		}
		a := attach()
		time.Sleep(200 * time.Millisecond)
		master.WriteString("echo sum-$((6*7))\r")
		see("sum-42")
		master.WriteString("stty size\r")
		see("30 100")
		unix.IoctlSetWinsize(int(tty.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 41, Col: 123})
		syscall.Kill(a.cmd.Process.Pid, syscall.SIGWINCH)
		time.Sleep(200 * time.Millisecond)
		master.WriteString("stty size\r")
		see("41 123")
		master.Write([]byte{16, 17}) // ctrl-p ctrl-q
		if r := a.wait(t, 10*time.Second); r.code != 0 {
			t.Errorf("attach -t: the detach keys must end attach with 0: %v", r)
		}
		if r := m.skiff("ps", "--filter", "name="+name+"-t", "--format", "{{.Status}}"); !strings.HasPrefix(r.stdout, "Up") {
			t.Fatalf("the detach keys stopped the container: %v", r)
		}
		// attached again, with other detach keys: the container's exit code is attach's
		b := startArgvWith(t, m.argv(skiffBin, "attach", "--detach-keys", "ctrl-x", name+"-t"), func(c *exec.Cmd) {
			c.Stdin, c.Stdout, c.Stderr = tty, tty, tty
		})
		time.Sleep(200 * time.Millisecond)
		master.WriteString("exit 3\r")
		if r := b.wait(t, 10*time.Second); r.code != 3 {
			t.Errorf("attach -t: want the container's exit code 3: %v (the terminal: %q)", r, screen.String())
		}

		if r := m.skiff("attach", "--detach-keys", "ctrl-1", name); checkOneLineError(r) != "" || r.code != 125 || !strings.Contains(r.stderr, "detach-keys") {
			t.Errorf("attach --detach-keys ctrl-1: want a one-line error: %v", r)
		}
	})
}
