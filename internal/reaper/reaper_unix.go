//go:build unix

package reaper

import (
	"bytes"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// The reaper is one process per pi process (not one per step) that kills the steps still
// running when pi goes away, however it goes, kill -9 included. pi starts it on its first
// shell.run step, by running its own executable again with Env=Magic in its environment
// and Arg0 as its argv (init below turns that process into the reaper before the rest of
// pi is initialised). The reaper reads, on fd 3, the read end of a pipe whose only write
// end pi holds, lines saying which steps are live:
//
//	+TOKEN        a step with the mark PI_STEP_TREE=TOKEN is about to start
//	=TOKEN PGID   its leader started, in process group PGID
//	-TOKEN        it ended (pi killed what was left of it)
//
// It reads EOF exactly when pi has exited or closed the pipe (actions.ShutdownReaper). It then kills
// the process group of every live step and every process carrying a live step's mark
// (those that left the group too, where /proc lists environments), again until a pass finds
// none, and exits.
const (
	Env   = "PI_INTERNAL_REAPER"
	Magic = "fd3-v1"
	Arg0  = "pi-reaper"
)

// TreeMark is the environment variable that marks every process of one shell.run step
// (TreeMark=TOKEN), so the processes that leave its process group (setsid, a daemon) can
// still be found.
const TreeMark = "PI_STEP_TREE"

func init() {
	// The argv first: it costs nothing, where the first Getenv copies the environment
	// (allocations that every other pi process would pay at its initialisation).
	if len(os.Args) != 1 || os.Args[0] != Arg0 || os.Getenv(Env) != Magic {
		return
	}
	os.Exit(run(os.NewFile(3, "reaper-pipe")))
}

// run is the reaper's whole life.
func run(in *os.File) int {
	if in == nil {
		return 2
	}
	// Signals meant for pi's terminal or pi's group are not for it: it ends when pi does.
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU)
	live := make(map[string]int)
	readLines(throttled{in}, func(line []byte) { applyLine(live, line) })
	reapAll(live)
	return 0
}

// readLines calls each with every line r gives (without its newline, the last one even
// without one) until r ends. It is bufio.Scanner's work, done here because package bufio
// imports strings, which Go initialises late: importing it made the reaper wait for 40
// more of pi's packages' initialisation.
func readLines(r io.Reader, each func(line []byte)) {
	buf := make([]byte, 256<<10) // room for a full pipe at each read
	n := 0                       // the unfinished line at buf's start
	for {
		m, err := r.Read(buf[n:])
		n += m
		done := 0
		for i := bytes.IndexByte(buf[:n], '\n'); i >= 0; i = bytes.IndexByte(buf[done:n], '\n') {
			each(buf[done : done+i])
			done += i + 1
		}
		n = copy(buf, buf[done:n])
		if n == len(buf) {
			n = 0 // a line longer than the buffer is none of pi's: dropped
		}
		if err != nil {
			if n > 0 {
				each(buf[:n])
			}
			return
		}
	}
}

// throttled reads what has accumulated in the pipe every readEvery, not each line
// as it is written: pi's writes then wake no one, which per step would cost three context
// switches (a sequence of steps took 10-18 % longer with them). A full pipe (64 KiB,
// some 1,500 lines) only holds pi's write for the rest of the wait. EOF, pi gone, is
// seen at most that much later (the steps' leaders die at once by their parent-death
// signal).
type throttled struct{ r *os.File }

const readEvery = 20 * time.Millisecond

func (t throttled) Read(p []byte) (int, error) {
	time.Sleep(readEvery)
	return t.r.Read(p)
}

// applyLine applies one line of pi's to the live steps.
func applyLine(live map[string]int, line []byte) {
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
			killed += KillMarked(TreeMark+"="+tok, 0, time.Time{})
		}
		if killed == 0 {
			return
		}
	}
}
