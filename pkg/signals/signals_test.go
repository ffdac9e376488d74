package signals

import (
	"errors"
	"os"
	"os/signal"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func receive(t *testing.T, ch <-chan os.Signal, want unix.Signal) {
	t.Helper()
	select {
	case got := <-ch:
		if got != want {
			t.Fatalf("got %v, want %v", got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%v was not delivered", want)
	}
}

func TestCatchDeliversEveryForwardedSignal(t *testing.T) {
	c, err := Catch()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	for _, s := range Forwarded {
		if err := unix.Kill(os.Getpid(), s); err != nil {
			t.Fatal(err)
		}
		receive(t, c.C, s)
	}
}

func TestOneCatcherAtATime(t *testing.T) {
	c, err := Catch()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Catch(); !errors.Is(err, ErrBusy) {
		t.Fatalf("second Catch: %v, want ErrBusy", err)
	}
	c.Stop()
	c.Stop() // twice is harmless
	c2, err := Catch()
	if err != nil {
		t.Fatalf("Catch after Stop: %v", err)
	}
	c2.Stop()
}

// After Stop the runtime's handlers are back: os/signal sees the signal, the old catcher not.
func TestStopRestoresRuntimeHandlers(t *testing.T) {
	c, err := Catch()
	if err != nil {
		t.Fatal(err)
	}
	c.Stop()
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, unix.SIGUSR1)
	defer signal.Stop(ch)
	if err := unix.Kill(os.Getpid(), unix.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	receive(t, ch, unix.SIGUSR1)
	select {
	case s := <-c.C:
		t.Fatalf("stopped catcher got %v", s)
	default:
	}
}
