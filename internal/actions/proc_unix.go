//go:build unix

package actions

import (
	"crypto/rand"
	"encoding/hex"
	"os/exec"
	"syscall"
	"time"

	"github.com/pi-cli/pi/internal/reaper"
)

// procTree is the process tree of one shell.run step: its command, started directly (no
// process of pi's in between), as the leader of a process group of its own, with a
// parent-death signal where there is one, and the step's mark in its environment. While it
// runs the process's one reaper (internal/reaper) knows its mark and group, and kills them
// if pi goes away, kill -9 included; at its end pi kills them itself (kill).
type procTree struct {
	token   string
	started time.Time // when the leader was started
	pgid    int       // the leader's pid, once started
	live    bool      // the reaper was told of the step (and must be told of its end)
}

func newProcTree() (*procTree, error) {
	b := make([]byte, 12)
	rand.Read(b)
	return &procTree{token: hex.EncodeToString(b)}, nil
}

// command runs argv as it is (the file at path, argv[0] as $PATH found it, or argv[0]), as
// the leader of a process group of its own.
func (t *procTree) command(path string, argv []string) *exec.Cmd {
	cmd := exec.Command(path, argv[1:]...)
	cmd.Args[0] = argv[0]
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr)
	return cmd
}

func (t *procTree) markEnv() string { return reaper.TreeMark + "=" + t.token }

// start tells the reaper of the step's mark, starts the command, then tells it the group:
// the mark first, so that a pi killed between the two leaves nothing the reaper does not
// know of (everything the leader starts carries the mark).
func (t *procTree) start(cmd *exec.Cmd) error {
	if cmd.Err != nil {
		return cmd.Err // not found: nothing to start
	}
	if err := stepReaper.add(t.token); err != nil {
		return err
	}
	t.live = true
	t.started = time.Now()
	if err := cmd.Start(); err != nil {
		return err
	}
	t.pgid = cmd.Process.Pid
	stepReaper.group(t.token, t.pgid)
	return nil
}

// kill kills the step's process group and every process that carries its mark.
func (t *procTree) kill(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	// Again until a pass kills none: a process can fork while a pass runs.
	for pass := 0; pass < 50 && reaper.KillMarked(reaper.TreeMark+"="+t.token, cmd.Process.Pid, t.started) > 0; pass++ {
	}
}

// release tells the reaper the step is over (its processes are killed).
func (t *procTree) release() {
	if t.live {
		stepReaper.remove(t.token)
		t.live = false
	}
}

// ShutdownReaper ends the process's reaper, if one was started, and waits for it: it kills
// the steps still running (none, after a run that ended) and exits. pi calls it before it
// exits, so the reaper's work is done (and counted as pi's) by then; without the call the
// reaper does the same when pi has exited.
func ShutdownReaper() { stepReaper.shutdown() }
