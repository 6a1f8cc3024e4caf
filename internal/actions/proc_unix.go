//go:build unix

package actions

import (
	"os/exec"
	"syscall"
)

// startGroup puts the command in a process group of its own, so everything it starts can be
// killed with it.
func startGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills the command's whole process group (the leader and whatever it left behind).
func killGroup(cmd *exec.Cmd) {
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
}
