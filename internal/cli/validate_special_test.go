//go:build unix

package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// pi validate DIR checks the regular *.yaml files in it and skips, saying so, one that is
// not a regular file: a named pipe nobody writes would block it forever.
func TestValidateDirectorySkipsSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(validPipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "pipe.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	if err := os.Symlink(fifo, filepath.Join(dir, "link.yml")); err != nil {
		t.Fatal(err)
	}
	f, _, errOut := testFactory()
	done := make(chan error, 1)
	go func() {
		done <- runValidate(context.Background(), &validateOptions{IO: f.IO, Files: []string{dir}, Output: "text"})
	}()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second): // a hang guard
		if w, err := os.OpenFile(fifo, os.O_WRONLY, 0); err == nil {
			w.Close()
		}
		t.Fatal("pi validate DIR blocked on a named pipe")
	}
	if exitCode(err) != ExitOK {
		t.Errorf("exit %d (%v), want 0: a.yaml is valid and the pipes are skipped", exitCode(err), err)
	}
	got := errOut.String()
	for _, want := range []string{
		filepath.Join(dir, "a.yaml") + ": valid",
		fifo + ": warning: not a regular file (a named pipe): skipped",
		filepath.Join(dir, "link.yml") + ": warning: not a regular file (a named pipe): skipped",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("stderr lacks %q:\n%s", want, got)
		}
	}
}
