//go:build linux

package actions

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/reaper"
)

// reaperPIDs lists the reapers whose parent is ppid.
func reaperPIDs(ppid int) []int {
	var pids []int
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		cmdline, err := os.ReadFile(d + "/cmdline")
		if err != nil || string(cmdline) != reaper.Arg0+"\x00" {
			continue
		}
		stat, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// "pid (comm) S ppid ...": the fields after the last ')'.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 1 && f[0] != "Z" && f[1] == strconv.Itoa(ppid) {
			pid, _ := strconv.Atoi(filepath.Base(d))
			pids = append(pids, pid)
		}
	}
	return pids
}

func reaperStarts() int {
	stepReaper.mu.Lock()
	defer stepReaper.mu.Unlock()
	return stepReaper.starts
}

// waitMarked waits until at least n processes carry the mark (the step has started its
// children), failing after a hang guard.
func waitMarked(t *testing.T, mark string, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); len(markedPIDs(mark)) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("the step's processes did not start: %v", markedPIDs(mark))
		}
		time.Sleep(10 * time.Millisecond) // polling the kernel's process table
	}
}

// Twenty steps, one after the other and then all at once, are watched by one reaper, not
// one each: this process starts at most one, and has exactly one child that is a reaper.
func TestReaperOnePerProcess(t *testing.T) {
	before := reaperStarts()
	run := func() {
		if _, err := shellRun(context.Background(), req("shell.run", map[string]any{"command": []any{"true"}})); err != nil {
			t.Error(err)
		}
	}
	for range 20 {
		run()
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(run)
	}
	wg.Wait()
	if got, want := reaperStarts(), max(before, 1); got != want {
		t.Fatalf("%d reapers started (%d before the 40 steps), want %d", got, before, want)
	}
	if pids := reaperPIDs(os.Getpid()); len(pids) != 1 {
		t.Fatalf("reaper processes %v, want exactly one", pids)
	}
}

// When the pipe to the reaper closes while a step runs (as when pi is killed: here pi's
// end is closed on purpose), the reaper kills the step, its group and the process that
// left the group; then the step ends as killed and the reaper is gone.
func TestReaperKillsLiveStepsOnEOF(t *testing.T) {
	mark := fmt.Sprintf("reaper-eof-%d", os.Getpid())
	late := filepath.Join(t.TempDir(), "late")
	done := make(chan error, 1)
	go func() {
		_, err := shellRun(context.Background(), req("shell.run", map[string]any{
			"script": "setsid sh -c 'sleep 30; echo escaped >> " + late + "' & sleep 30; echo late >> " + late,
			"env":    map[string]any{"MARK": mark}}))
		done <- err
	}()
	waitMarked(t, mark, 3) // the step's shell, its sleep, the escaped shell
	t.Cleanup(func() {
		for _, pid := range markedPIDs(mark) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	pids := reaperPIDs(os.Getpid())
	ShutdownReaper() // what pi's exit does: EOF on the reaper's pipe
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "exited") && !strings.Contains(err.Error(), "signal") {
			t.Fatalf("the step ended with %v, want it killed", err)
		}
	case <-time.After(20 * time.Second): // a hang guard: the step sleeps 30 s
		t.Fatal("the step outlived the reaper's EOF")
	}
	waitGone(t, mark)
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("reaper %d still there after it was shut down and waited for", pid)
		}
	}
	if b, err := os.ReadFile(late); err == nil {
		t.Fatalf("a killed step's process finished its work: %q", b)
	}
}

// A reaper that dies while a step runs (killed by someone) is replaced by one that knows
// the live step: closing the new one's pipe still kills it.
func TestReaperReplacedWhenKilled(t *testing.T) {
	mark := fmt.Sprintf("reaper-replaced-%d", os.Getpid())
	done := make(chan error, 1)
	go func() {
		_, err := shellRun(context.Background(), req("shell.run", map[string]any{
			"script": "setsid sleep 30 & sleep 30", "env": map[string]any{"MARK": mark}}))
		done <- err
	}()
	waitMarked(t, mark, 3)
	t.Cleanup(func() {
		for _, pid := range markedPIDs(mark) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	before := reaperStarts()
	old := reaperPIDs(os.Getpid())
	if len(old) != 1 {
		t.Fatalf("reapers %v, want one", old)
	}
	syscall.Kill(old[0], syscall.SIGKILL)
	for deadline := time.Now().Add(20 * time.Second); reaperStarts() == before; {
		if time.Now().After(deadline) {
			t.Fatal("no reaper replaced the killed one")
		}
		time.Sleep(10 * time.Millisecond) // polling for the replacement's start
	}
	ShutdownReaper()
	select {
	case <-done:
	case <-time.After(20 * time.Second): // a hang guard
		t.Fatal("the replacement reaper did not kill the live step")
	}
	waitGone(t, mark)
}
