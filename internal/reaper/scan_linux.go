//go:build linux

package reaper

import (
	"bytes"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// KillMarked kills the processes whose environment holds mark (KEY=VALUE): the ones of a
// step that left its process group (setsid), which a group kill misses. It runs after every
// step, over every process of the machine, so it reads /proc with a few system calls per
// process and no allocation per process (open, read into one buffer, close).
//
// A process of the step was created after its leader: when the step was short (under
// pidWindowMax) only the ids handed out since the leader's are tried, the ids the kernel
// allocated in that time being a window that cannot have wrapped all the way round; the
// machine's other processes are not opened at all. After a longer step, a window wider
// than pidWindowIDs, or when the last allocated id is not known, every process in /proc
// is read.
//
// It returns how many it killed: a process can fork while the scan runs, so the caller
// scans again until a pass kills none.
func KillMarked(mark string, leader int, since time.Time) (killed int) {
	want := []byte(mark)
	self := os.Getpid()
	buf := make([]byte, 64<<10)
	path := make([]byte, 0, 32)
	check := func(pid int) {
		if pid == self {
			return
		}
		path = strconv.AppendInt(append(path[:0], "/proc/"...), int64(pid), 10)
		dir := len(path)
		path = append(path, "/environ"...)
		found, empty := environHas(path, buf, want)
		// A process in the middle of an exec (setsid exec'ing the escapee) shows an empty
		// environment for a moment; a zombie shows one for good.
		for tries := 0; empty && tries < execRetries && !zombie(append(path[:dir], "/stat"...)); tries++ {
			time.Sleep(execRetryWait) // the kernel is replacing the process's memory
			path = append(path[:dir], "/environ"...)
			found, empty = environHas(path, buf, want)
		}
		if found && syscall.Kill(pid, syscall.SIGKILL) == nil {
			killed++
		}
	}
	if time.Since(since) < pidWindowMax && leader > 0 {
		if last, max, ok := lastPID(); ok && leader < max {
			// The ids handed out since the leader's, in order (they wrap at pid_max): few
			// enough, each is tried directly, without listing /proc.
			if span := (last - leader + max) % max; span <= pidWindowIDs {
				for k := 0; k <= span; k++ {
					check((leader + k) % max)
				}
				return killed
			}
		}
	}
	proc, err := os.Open("/proc")
	if err != nil {
		return 0
	}
	names, _ := proc.Readdirnames(-1)
	proc.Close()
	for _, name := range names {
		if pid, err := strconv.Atoi(name); err == nil {
			check(pid)
		}
	}
	return killed
}

// execRetries and execRetryWait bound how long KillMarked re-reads the empty environment
// of a process that is not a zombie (one in the middle of an exec): 5 ms.
const (
	execRetries   = 50
	execRetryWait = 100 * time.Microsecond
)

// zombie reports whether the process whose stat file is at path has exited (or is gone).
func zombie(path []byte) bool {
	fd, err := syscall.Open(string(path), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return true
	}
	defer syscall.Close(fd)
	var b [512]byte
	n, _ := syscall.Read(fd, b[:])
	// "pid (comm) S ...": the state follows the last ')' (comm may hold one).
	i := bytes.LastIndexByte(b[:max(n, 0)], ')')
	return i < 0 || i+2 >= n || b[i+2] == 'Z' || b[i+2] == 'X'
}

// environHas reports whether the environment file at path holds the entry want exactly,
// and whether it was empty. buf is scratch; an environment longer than buf is read in
// pieces, an entry that spans two pieces carried over.
func environHas(path, buf, want []byte) (found, empty bool) {
	fd, err := syscall.Open(string(path), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return false, false
	}
	defer syscall.Close(fd)
	var carry []byte // the unfinished entry at the end of the previous piece
	for total := 0; ; {
		n, err := syscall.Read(fd, buf)
		if n <= 0 || err != nil {
			return len(carry) > 0 && bytes.Equal(carry, want), total == 0
		}
		total += n
		data := buf[:n]
		for len(data) > 0 {
			i := bytes.IndexByte(data, 0)
			if i < 0 {
				carry = append(carry, data...)
				break
			}
			entry := data[:i]
			if len(carry) > 0 {
				carry = append(carry, entry...)
				entry = carry
			}
			if bytes.Equal(entry, want) {
				return true, false
			}
			carry = carry[:0]
			data = data[i+1:]
		}
	}
}

// pidWindowMax is the longest step after which KillMarked reads only the processes created
// since the step's leader: 32,768 process ids (the smallest pid_max) are not handed out in
// less than a second. pidWindowIDs is the most ids it tries one by one; a wider window
// (a busy machine) is read from the list of /proc.
const (
	pidWindowMax = time.Second
	pidWindowIDs = 2048
)

// lastPID is the last process id the kernel handed out in this pid namespace, and the
// number of ids (pid_max + 1, read once: it does not change under a running pi).
func lastPID() (last, max int, ok bool) {
	max = pidLimit()
	last, ok = readInt("/proc/sys/kernel/ns_last_pid")
	return last, max, ok && max > 0 && last < max
}

var pidMax struct {
	once sync.Once
	n    int
}

// pidLimit is pid_max + 1, read on first use (0 when unknown).
func pidLimit() int {
	pidMax.once.Do(func() {
		if n, ok := readInt("/proc/sys/kernel/pid_max"); ok {
			pidMax.n = n + 1
		}
	})
	return pidMax.n
}

// readInt reads a small file holding one positive number, with three system calls.
func readInt(path string) (int, bool) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	defer syscall.Close(fd)
	var buf [32]byte
	n, err := syscall.Read(fd, buf[:])
	if err != nil || n <= 0 {
		return 0, false
	}
	v, err := strconv.Atoi(string(bytes.TrimSpace(buf[:n])))
	return v, err == nil && v > 0
}
