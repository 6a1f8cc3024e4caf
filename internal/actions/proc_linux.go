//go:build linux

package actions

import "syscall"

// setParentDeathSignal makes the kernel kill the step's leader when pi dies, whatever
// kills pi; the reaper then takes the rest of the tree down.
func setParentDeathSignal(a *syscall.SysProcAttr) { a.Pdeathsig = syscall.SIGKILL }

// selfExecutable is what the reaper is started from: this very executable, even when the
// file it was started from has since been replaced or removed (an upgrade while pi runs).
func selfExecutable() (string, error) { return "/proc/self/exe", nil }
