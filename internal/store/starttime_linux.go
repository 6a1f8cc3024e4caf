package store

import (
	"bytes"
	"os"
	"strconv"
)

// processStart is the start time of process pid: field 22 of /proc/PID/stat (clock ticks
// after boot), which a later process given the same pid cannot share. ok is false when
// /proc cannot tell (no such process, /proc not mounted).
func processStart(pid int) (string, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return "", false
	}
	return statStartTime(b)
}

// statStartTime reads field 22 of a /proc/PID/stat line. Field 2, the command name in
// parentheses, may itself hold spaces and parentheses: the fields are counted after its
// last ')'.
func statStartTime(stat []byte) (string, bool) {
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return "", false
	}
	fields := bytes.Fields(stat[i+1:]) // fields 3, 4, ...
	const startTime = 22 - 3
	if len(fields) <= startTime {
		return "", false
	}
	if _, err := strconv.ParseUint(string(fields[startTime]), 10, 64); err != nil {
		return "", false
	}
	return string(fields[startTime]), true
}
