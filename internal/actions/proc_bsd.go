//go:build unix && !linux

package actions

import (
	"os"
	"syscall"
)

// setParentDeathSignal: only Linux has a parent-death signal; the reaper still kills the
// step's process group when pi dies.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// selfExecutable is what the reaper is started from.
func selfExecutable() (string, error) { return os.Executable() }
