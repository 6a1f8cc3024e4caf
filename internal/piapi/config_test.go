//go:build unix

package piapi

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The config file is read only when it is a regular file of at most MaxConfigSize: a
// named pipe nobody writes, a device that never ends or a huge file is refused at once,
// naming the file, rather than blocking pi or filling its memory.
func TestLoadConfigRefusesWhatIsNotAConfigFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("mkfifo:", err)
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, []byte("base_url: https://pi.example.test\n# "+strings.Repeat("x", MaxConfigSize)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path, want string
	}{
		{fifo, "not a regular file"},
		{big, "larger than"},
		{os.DevNull, "not a regular file"},
		{"/dev/zero", "not a regular file (a device)"},
		{dir, "not a regular file"},
	} {
		t.Run(filepath.Base(tt.path), func(t *testing.T) {
			done := make(chan error, 1)
			go func() {
				_, _, err := LoadConfig("", tt.path, func(string) string { return "" })
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.path) {
					t.Fatalf("err %v, want one naming %s with %q", err, tt.path, tt.want)
				}
			case <-time.After(10 * time.Second): // a hang guard
				if w, err := os.OpenFile(tt.path, os.O_WRONLY, 0); err == nil {
					w.Close() // lets the blocked open return
				}
				t.Fatalf("LoadConfig(%s) blocked", tt.path)
			}
		})
	}
}
