//go:build unix

package actions

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"

	"github.com/pi-cli/pi/internal/reaper"
)

// reaperPipe is pi's side of the reaper (internal/reaper): the pipe's write end, the reaper process, and the live steps (so a
// reaper that died, killed by someone, is replaced by one that knows them all).
type reaperPipe struct {
	mu     sync.Mutex
	w      *os.File // nil while no reaper runs
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	live   map[string]int
	starts int // how many reapers this process started (a test reads it)
}

var stepReaper reaperPipe

// errReaper is a step not started for want of a reaper (no process could be started).
var errReaper = errors.New("cannot start the step reaper")

// add records a step about to start; it starts the reaper if none runs. A step is not
// started without a reaper that knows of it.
func (r *reaperPipe) add(tok string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.live == nil {
		r.live = make(map[string]int)
	}
	r.live[tok] = 0
	if err := r.sendLocked("+" + tok + "\n"); err != nil {
		delete(r.live, tok)
		return fmt.Errorf("%w: %w", errReaper, err)
	}
	return nil
}

// group records the process group of a started step.
func (r *reaperPipe) group(tok string, pgid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live[tok] = pgid
	_ = r.sendLocked("=" + tok + " " + strconv.Itoa(pgid) + "\n")
}

// remove records the end of a step.
func (r *reaperPipe) remove(tok string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.live, tok)
	_ = r.sendLocked("-" + tok + "\n")
}

// sendLocked tells the reaper line, whose change r.live already holds; when there is no
// reaper (the first step, or the one there was is gone) it starts one, which is told
// everything live instead.
func (r *reaperPipe) sendLocked(line string) error {
	if r.w != nil {
		if _, err := r.w.WriteString(line); err == nil {
			return nil
		}
		r.dropLocked()
	}
	if len(r.live) == 0 {
		return nil
	}
	return r.startLocked()
}

// dropLocked lets go of a reaper that cannot be written to (its wait goroutine reaps it).
func (r *reaperPipe) dropLocked() {
	r.w.Close()
	r.w, r.cmd = nil, nil
}

func (r *reaperPipe) startLocked() error {
	exe, err := selfExecutable()
	if err != nil {
		return err
	}
	rd, w, err := os.Pipe() // close-on-exec: no step inherits either end
	if err != nil {
		return err
	}
	cmd := &exec.Cmd{
		Path: exe,
		Args: []string{reaper.Arg0},
		// Nothing of pi's environment: no key, no step's mark.
		Env:        []string{reaper.Env + "=" + reaper.Magic},
		Dir:        "/",
		ExtraFiles: []*os.File{rd},
		// A group of its own: a signal to pi's group (Ctrl-C) does not reach it.
		SysProcAttr: &syscall.SysProcAttr{Setpgid: true},
	}
	err = cmd.Start()
	rd.Close() // the reaper's copy is the only one
	if err != nil {
		w.Close()
		return err
	}
	var b bytes.Buffer
	for tok, pgid := range r.live {
		b.WriteString("+" + tok + "\n")
		if pgid > 0 {
			b.WriteString("=" + tok + " " + strconv.Itoa(pgid) + "\n")
		}
	}
	if _, err := w.Write(b.Bytes()); err != nil {
		w.Close()
		cmd.Wait()
		return err
	}
	r.w, r.cmd, r.starts = w, cmd, r.starts+1
	exited := make(chan struct{})
	r.exited = exited
	go func() {
		cmd.Wait()
		close(exited)
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.cmd == cmd { // it died while pi runs: a new one for the steps still live
			r.dropLocked()
			if len(r.live) > 0 {
				_ = r.startLocked()
			}
		}
	}()
	return nil
}

// shutdown closes the pipe and waits for the reaper to exit. With no step live (pi has
// killed what each left behind) it has nothing to do: it is killed rather than left to
// notice the EOF at its next read.
func (r *reaperPipe) shutdown() {
	r.mu.Lock()
	w, cmd, exited, idle := r.w, r.cmd, r.exited, len(r.live) == 0
	r.w, r.cmd = nil, nil
	r.mu.Unlock()
	if w == nil {
		return
	}
	if idle {
		_ = cmd.Process.Kill()
	}
	w.Close()
	<-exited
}
