//go:build linux

package cli

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// reaperChildren lists the step reapers (internal/reaper) whose parent is ppid.
func reaperChildren(ppid int) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(d + "/cmdline")
		if err != nil || string(cmdline) != "pi-reaper\x00" {
			continue
		}
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(ppid) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			pids = append(pids, pid)
		}
	}
	return pids
}

// A local run of 20 shell.run steps (8 at a time) is guarded by one reaper process, not one
// per step: while its last step waits (on a FIFO the test holds), pi has exactly one reaper
// child, and that reaper is gone when pi has exited (pi waits for it).
func TestLocalRunHasOneReaper(t *testing.T) {
	bin := piBinary(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	var p strings.Builder
	p.WriteString("steps:\n")
	for i := range 20 {
		fmt.Fprintf(&p, "  - id: s%d\n    action: shell.run\n    input: {command: [\"true\"]}\n", i)
	}
	p.WriteString("  - id: last\n    action: shell.run\n    depends_on: [")
	for i := range 20 {
		if i > 0 {
			p.WriteString(", ")
		}
		fmt.Fprintf(&p, "s%d", i)
	}
	p.WriteString("]\n    input: {command: [\"cat\", \"" + fifo + "\"]}\n")
	file := writePipeline(t, dir, p.String())
	cmd := exec.Command(bin, "run", file, "--local", "-o", "plain")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	// Opening the FIFO for writing returns once the last step has opened it: the 20 steps
	// are done and the last one runs.
	opened := make(chan *os.File, 1)
	go func() {
		w, _ := os.OpenFile(fifo, os.O_WRONLY, 0)
		opened <- w
	}()
	var reapers []int
	select {
	case w := <-opened:
		reapers = reaperChildren(cmd.Process.Pid)
		w.Close()
	case err := <-exited:
		// Release the open that waits for a reader.
		if r, rerr := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0); rerr == nil {
			defer r.Close()
		}
		t.Fatalf("pi ended before its last step ran: %v\n%s", err, out.String())
	}
	if err := <-exited; err != nil {
		t.Fatalf("pi: %v\n%s", err, out.String())
	}
	if len(reapers) != 1 {
		t.Fatalf("pi had reaper children %v while its 21st step ran, want exactly one", reapers)
	}
	// pi waited for it: not even a zombie is left (an orphan would have been re-parented).
	if err := syscall.Kill(reapers[0], 0); err == nil {
		t.Fatalf("reaper %d still exists after pi exited", reapers[0])
	}
}

// A local run without a shell.run step starts no reaper: while its http.request step waits
// for the server's answer, pi has no reaper child.
func TestLocalRunWithoutShellStartsNoReaper(t *testing.T) {
	bin := piBinary(t)
	dir := t.TempDir()
	arrived, release := make(chan struct{}), make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-release
	}))
	defer srv.Close()
	file := writePipeline(t, dir, "steps:\n  - id: call\n    action: http.request\n    input: {url: \""+srv.URL+"\"}\n")
	cmd := exec.Command(bin, "run", file, "--local", "-o", "plain")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var reapers []int
	select {
	case <-arrived:
		reapers = reaperChildren(cmd.Process.Pid)
		close(release)
	case err := <-exited:
		t.Fatalf("pi ended before its step ran: %v\n%s", err, out.String())
	}
	if err := <-exited; err != nil {
		t.Fatalf("pi: %v\n%s", err, out.String())
	}
	if len(reapers) != 0 {
		t.Fatalf("pi had reaper children %v while its http.request step ran, want none", reapers)
	}
}
