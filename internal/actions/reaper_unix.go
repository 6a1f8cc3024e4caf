//go:build unix

package actions

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// The reaper is one process per pi process (not one per step) that kills the steps still
// running when pi goes away, however it goes, kill -9 included. pi starts it on its first
// shell.run step, by running its own executable again with reaperEnv set (init below turns
// that process into the reaper before anything else runs). The reaper reads, on fd 3, the
// read end of a pipe whose only write end pi holds, lines saying which steps are live:
//
//	+TOKEN        a step with the mark PI_STEP_TREE=TOKEN is about to start
//	=TOKEN PGID   its leader started, in process group PGID
//	-TOKEN        it ended (pi killed what was left of it)
//
// It reads EOF exactly when pi has exited or closed the pipe (ShutdownReaper). It then kills
// the process group of every live step and every process carrying a live step's mark
// (those that left the group too, where /proc lists environments), again until a pass finds
// none, and exits.
const (
	reaperEnv   = "PI_INTERNAL_REAPER"
	reaperMagic = "fd3-v1"
	reaperArg0  = "pi-reaper"
)

func init() {
	if os.Getenv(reaperEnv) != reaperMagic {
		return
	}
	os.Exit(runReaper(os.NewFile(3, "reaper-pipe")))
}

// runReaper is the reaper's whole life.
func runReaper(in *os.File) int {
	if in == nil {
		return 2
	}
	// Signals meant for pi's terminal or pi's group are not for it: it ends when pi does.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU)
	live := make(map[string]int)
	sc := bufio.NewScanner(throttled{in})
	sc.Buffer(make([]byte, 256<<10), 256<<10) // room for a full pipe at each read
	for sc.Scan() {
		applyReaperLine(live, sc.Bytes())
	}
	reapAll(live)
	return 0
}

// throttled reads what has accumulated in the pipe every reaperReadEvery, not each line
// as it is written: pi's writes then wake no one, which per step would cost three context
// switches (a sequence of steps took 10-18 % longer with them). A full pipe (64 KiB,
// some 1,500 lines) only holds pi's write for the rest of the wait. EOF, pi gone, is
// seen at most that much later (the steps' leaders die at once by their parent-death
// signal).
type throttled struct{ r *os.File }

const reaperReadEvery = 20 * time.Millisecond

func (t throttled) Read(p []byte) (int, error) {
	time.Sleep(reaperReadEvery)
	return t.r.Read(p)
}

// applyReaperLine applies one line of pi's to the live steps.
func applyReaperLine(live map[string]int, line []byte) {
	if len(line) < 2 {
		return
	}
	switch line[0] {
	case '+':
		live[string(line[1:])] = 0
	case '=':
		tok, pgid, ok := bytes.Cut(line[1:], []byte(" "))
		if n, err := strconv.Atoi(string(pgid)); ok && err == nil && n > 1 {
			live[string(tok)] = n
		}
	case '-':
		delete(live, string(line[1:]))
	}
}

// reapAll kills the live steps: their groups, then the processes that carry their marks,
// until a pass kills none (a process can fork while a pass runs), the groups again after
// each pass (a marked process killed may have had children in them).
func reapAll(live map[string]int) {
	for pass := 0; pass < 50; pass++ {
		for _, pgid := range live {
			if pgid > 1 {
				_ = syscall.Kill(-pgid, syscall.SIGKILL)
			}
		}
		killed := 0
		for tok := range live {
			killed += killMarked(treeMark+"="+tok, 0, time.Time{})
		}
		if killed == 0 {
			return
		}
	}
}

// reaper is pi's side: the pipe's write end, the reaper process, and the live steps (so a
// reaper that died, killed by someone, is replaced by one that knows them all).
type reaper struct {
	mu     sync.Mutex
	w      *os.File // nil while no reaper runs
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd has been waited for
	live   map[string]int
	starts int // how many reapers this process started (a test reads it)
}

var stepReaper reaper

// errReaper is a step not started for want of a reaper (no process could be started).
var errReaper = errors.New("cannot start the step reaper")

// add records a step about to start; it starts the reaper if none runs. A step is not
// started without a reaper that knows of it.
func (r *reaper) add(tok string) error {
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
func (r *reaper) group(tok string, pgid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.live[tok] = pgid
	_ = r.sendLocked("=" + tok + " " + strconv.Itoa(pgid) + "\n")
}

// remove records the end of a step.
func (r *reaper) remove(tok string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.live, tok)
	_ = r.sendLocked("-" + tok + "\n")
}

// sendLocked tells the reaper line, whose change r.live already holds; when there is no
// reaper (the first step, or the one there was is gone) it starts one, which is told
// everything live instead.
func (r *reaper) sendLocked(line string) error {
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
func (r *reaper) dropLocked() {
	r.w.Close()
	r.w, r.cmd = nil, nil
}

func (r *reaper) startLocked() error {
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
		Args: []string{reaperArg0},
		// Nothing of pi's environment: no key, no step's mark.
		Env:        []string{reaperEnv + "=" + reaperMagic},
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
func (r *reaper) shutdown() {
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
