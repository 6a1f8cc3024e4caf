//go:build unix

package cli

import (
	"bytes"
	"os"
	"os/exec"
	"testing"

	"github.com/pi-cli/pi/internal/reaper"
)

// TestReaperStartsBeforePi starts pi's executable as pi starts its steps' reaper (the
// reaper's variable, the pipe on fd 3, closed at once: pi gone) with the init trace on: it
// exits 0, and Go has initialised none of pi's libraries (SQLite, gojq, yaml.v3, cobra,
// net/http) nor pi's other packages before the reaper package's init took the process
// over. A reaper that waits for all of pi's initialisation costs 4.3-4.8 ms of CPU instead
// of 2.9-3.2, at every local run with a shell.run step (issue 18).

func TestReaperStartsBeforePi(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(piBinary(t))
	cmd.Args[0] = reaper.Arg0
	cmd.Env = []string{reaper.Env + "=" + reaper.Magic, "GODEBUG=inittrace=1"}
	cmd.ExtraFiles = []*os.File{r}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r.Close()
	w.Close() // EOF: the reaper has no step to kill and exits
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the reaper: %v\n%s", err, stderr.Bytes())
	}
	checkEarlyInit(t, stderr.Bytes(), "the reaper", "internal/reaper")
}
