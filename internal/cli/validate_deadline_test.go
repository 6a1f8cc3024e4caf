package cli

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stuckReader is a standard input that never gives a byte: first it calls onRead (when
// set), then it blocks until the test ends.
type stuckReader struct {
	onRead  func()
	release chan struct{}
}

func (r *stuckReader) Read([]byte) (int, error) {
	if r.onRead != nil {
		r.onRead()
	}
	<-r.release
	return 0, context.Canceled
}

// pi validate ends when its deadline passes (exit 5) or on Ctrl-C (exit 130), whatever the
// file does: here a standard input that never ends stands for any check that would not
// (issue 21, item 4: a merge-key bomb ran for minutes).
func TestValidateHasADeadline(t *testing.T) {
	t.Run("timeout", func(t *testing.T) {
		f, _, errOut := testFactory()
		in := &stuckReader{release: make(chan struct{})}
		t.Cleanup(func() { close(in.release) })
		f.IO.In = in
		err := runValidate(context.Background(), &validateOptions{IO: f.IO, Files: []string{"-"}, Output: "text", Timeout: 20 * time.Millisecond})
		if exitCode(err) != ExitTimeout || !strings.Contains(err.Error(), "<stdin>: not checked within --timeout 20ms") {
			t.Fatalf("exit %d: %v (stderr %q), want 5 naming the file and the timeout", exitCode(err), err, errOut)
		}
	})
	t.Run("interrupt", func(t *testing.T) {
		f, _, _ := testFactory()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		in := &stuckReader{onRead: cancel, release: make(chan struct{})}
		t.Cleanup(func() { close(in.release) })
		f.IO.In = in
		err := runValidate(ctx, &validateOptions{IO: f.IO, Files: []string{"-"}, Output: "text"})
		if exitCode(err) != ExitInterrupted {
			t.Fatalf("exit %d: %v, want 130", exitCode(err), err)
		}
	})
}

// In pi's own process the file is checked on the command's goroutine, and the deadline
// ends the process from a watcher: a standard input that never ends is given up at
// --timeout (exit 5, naming it). Ctrl-C (SIGINT) ends it at once: pi validate keeps no
// handler, so the process ends by the signal (a shell's $? is 130).
func TestValidateDeadlineEndsTheProcess(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard: pi never ending fails the test
	defer cancel()
	cmd := exec.CommandContext(ctx, piBinary(t), "validate", "--timeout", "200ms", "-")
	stdin, err := cmd.StdinPipe() // never written to nor closed until the end
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	var errOut strings.Builder
	cmd.Stderr = &errOut
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != ExitTimeout || !strings.Contains(errOut.String(), "error: <stdin>: not checked within --timeout 200ms") {
		t.Fatalf("%v, stderr %q; want exit 5 naming <stdin> and the timeout", err, errOut.String())
	}
}

func TestValidateEndsOnCtrlC(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGINT to send on Windows")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute) // a hang guard
	defer cancel()
	cmd := exec.CommandContext(ctx, piBinary(t), "validate", "-")
	stdin, err := cmd.StdinPipe() // never written to: pi is still checking
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	cmd.Env = append(os.Environ(), "XDG_CONFIG_HOME="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ctx.Err() != nil || !ws.Signaled() || ws.Signal() != syscall.SIGINT {
		t.Fatalf("after SIGINT: %v (%v), want the process ended by SIGINT", err, cmd.ProcessState)
	}
}
