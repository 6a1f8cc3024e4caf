//go:build !unix

package filelock

import (
	"os"
	"sync"
)

// CrossProcess is false here: pi has no file lock on this system, so a lock keeps out
// only the goroutines of this process.
const CrossProcess = false

// locks are this process's locks by path.
var locks sync.Map

// TryLock takes this process's lock on path without waiting (the file is made with perm
// if missing): held is true when another goroutine has it.
func TryLock(path string, perm os.FileMode) (unlock func(), held bool, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, perm)
	if err != nil {
		return nil, false, err
	}
	f.Close()
	mu, _ := locks.LoadOrStore(path, &sync.Mutex{})
	m := mu.(*sync.Mutex)
	if !m.TryLock() {
		return nil, true, nil
	}
	return m.Unlock, false, nil
}
