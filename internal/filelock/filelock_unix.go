//go:build unix

package filelock

import (
	"errors"
	"os"
	"syscall"
)

// CrossProcess is true where a lock keeps other processes out too, not only this one's
// goroutines.
const CrossProcess = true

// TryLock takes an exclusive lock on the file at path (made with perm if missing, never
// truncated) without waiting: held is true when another holder has it. The lock ends
// with unlock, or with the process however it ends.
func TryLock(path string, perm os.FileMode) (unlock func(), held bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, perm)
	if err != nil {
		return nil, false, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, true, nil
		}
		return nil, false, err
	}
	return func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, false, nil
}
