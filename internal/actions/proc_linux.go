//go:build linux

package actions

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// setParentDeathSignal makes the kernel kill the step's leader when pi dies, whatever
// kills pi; the supervisor's watcher then takes the rest of the tree down.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// killMarked kills the processes whose environment holds mark (KEY=VALUE): the ones of a
// step that left its process group (setsid), which a group kill misses.
func killMarked(mark string) {
	want := []byte(mark)
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	self := os.Getpid()
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil {
			continue
		}
		for _, kv := range bytes.Split(env, []byte{0}) {
			if bytes.Equal(kv, want) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
				break
			}
		}
	}
}
