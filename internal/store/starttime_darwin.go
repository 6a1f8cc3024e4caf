package store

import (
	"strconv"

	"golang.org/x/sys/unix"
)

// processStart is the start time of process pid as the kernel keeps it (kern.proc.pid's
// p_starttime, to the microsecond), which a later process given the same pid cannot share.
// ok is false when the kernel does not tell (no such process).
func processStart(pid int) (string, bool) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil || kp.Proc.P_pid != int32(pid) {
		return "", false
	}
	t := kp.Proc.P_starttime
	return strconv.FormatInt(int64(t.Sec), 10) + "." + strconv.FormatInt(int64(t.Usec), 10), true
}
