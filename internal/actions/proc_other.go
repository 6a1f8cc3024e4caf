//go:build !unix

package actions

import "os/exec"

// startGroup is a no-op where there are no POSIX process groups (Windows).
func startGroup(*exec.Cmd) {}

// killGroup kills the command itself; children it started are not tracked on this platform.
func killGroup(cmd *exec.Cmd) {
	_ = cmd.Process.Kill()
}
