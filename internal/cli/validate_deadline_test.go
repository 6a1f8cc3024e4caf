package cli

import (
	"context"
	"strings"
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
