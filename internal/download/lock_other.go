//go:build !unix

package download

import "sync"

// dirLocks stands in for file locks where pi has none: downloads of one pi process into
// one directory still take turns; two processes do not.
var dirLocks sync.Map

func tryLock(path string) (unlock func(), held bool, err error) {
	mu, _ := dirLocks.LoadOrStore(path, &sync.Mutex{})
	m := mu.(*sync.Mutex)
	if !m.TryLock() {
		return nil, true, nil
	}
	return m.Unlock, false, nil
}
