//go:build unix && !linux

package actions

import (
	"syscall"
	"time"
)

// setParentDeathSignal: only Linux has a parent-death signal; the supervisor's watcher
// still kills the step's process group when pi dies.
func setParentDeathSignal(*syscall.SysProcAttr) {}

// killMarked: without /proc the environments of other processes are not readable; the
// group kill is what there is.
func killMarked(string, int, time.Time) int { return 0 }
