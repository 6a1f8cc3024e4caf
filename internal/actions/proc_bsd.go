//go:build unix && !linux

package actions

import (
	"os"
	"syscall"
	"time"
)

// setParentDeathSignal: only Linux has a parent-death signal; the reaper still kills the
// step's process group when pi dies.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// selfExecutable is what the reaper is started from.
func selfExecutable() (string, error) { return os.Executable() }

// killMarked: without /proc the environments of other processes are not readable; the
// group kill is what there is.
func killMarked(string, int, time.Time) int { return 0 }
