//go:build unix

package actions

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// treeMark is the environment variable that marks every process of one shell.run step, so
// the processes that leave its process group (setsid, a daemon) can still be found.
const treeMark = "PI_STEP_TREE"

// supervisor runs the step ("$@") under a watcher that kills the whole step when pi
// goes away, however it goes (kill -9 included): the watcher blocks reading fd 3, the
// read end of a pipe whose only write end pi holds, so it reads EOF exactly when pi exits
// or releases the step. It then kills every process carrying the step's mark (those that
// escaped the group too, where /proc lists environments), and last the whole process group
// (itself included).
// The watcher runs with a clean environment so it does not carry the mark itself until it
// is done.
const supervisor = `env -i PATH="$PATH" /bin/sh -c '
trap "" INT TERM HUP
read -r _ <&3
if [ -r /proc/self/environ ]; then
	# Again until a pass finds none: a process can fork while a pass runs.
	pass=0
	while [ "$pass" -lt 50 ]; do
		found=
		for d in /proc/[0-9]*; do
			if tr "\000" "\n" < "$d/environ" 2>/dev/null | grep -qxF "$1=$2"; then kill -s KILL "${d#/proc/}" 2>/dev/null && found=1; fi
		done
		[ -z "$found" ] && break
		pass=$((pass + 1))
	done
fi
kill -s KILL 0
' pi-step-watch ` + treeMark + ` "$` + treeMark + `" 3<&3 </dev/null >/dev/null 2>&1 &
watcher=$!
exec 3<&-
"$@"
status=$?
kill -s KILL "$watcher" 2>/dev/null
exit "$status"`

// procTree is the process tree of one shell.run step.
type procTree struct {
	token          string
	watchR, watchW *os.File
	started        time.Time // when the leader was started
}

func newProcTree() (*procTree, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	b := make([]byte, 12)
	rand.Read(b)
	return &procTree{token: hex.EncodeToString(b), watchR: r, watchW: w}, nil
}

// command runs argv under the supervisor, as the leader of a process group of its own.
func (t *procTree) command(argv []string) *exec.Cmd {
	cmd := exec.Command("/bin/sh", append([]string{"-c", supervisor, "pi-step"}, argv...)...)
	cmd.ExtraFiles = []*os.File{t.watchR}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setParentDeathSignal(cmd.SysProcAttr)
	return cmd
}

func (t *procTree) markEnv() string { return treeMark + "=" + t.token }

func (t *procTree) start(cmd *exec.Cmd) error {
	t.started = time.Now()
	err := cmd.Start()
	t.watchR.Close() // the watcher's copy is all that should hold it
	return err
}

// kill kills the step's process group and every process that carries its mark.
func (t *procTree) kill(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	// Again until a pass kills none: a process can fork while a pass runs.
	for pass := 0; pass < 50 && killMarked(treeMark+"="+t.token, cmd.Process.Pid, t.started) > 0; pass++ {
	}
}

// release ends the watcher's wait (the step is over).
func (t *procTree) release() { t.watchW.Close() }
