// Package filelock holds exclusive advisory locks on files, between pi processes where the
// system has such locks (flock on unix) and between the goroutines of one pi everywhere:
// the sandbox's database, a download directory's manifest, the GitHub job summary.
package filelock

import (
	"context"
	"fmt"
	"os"
	"time"
)

// poll is how often Wait tries again while another holder has the lock.
const poll = 5 * time.Millisecond

// Wait takes the lock on the file at path (made with perm if missing), trying again while
// another holder has it, for at most wait and never past ctx.
func Wait(ctx context.Context, path string, perm os.FileMode, wait time.Duration) (unlock func(), err error) {
	deadline := time.Now().Add(wait)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		unlock, held, err := TryLock(path, perm)
		switch {
		case err != nil:
			return nil, fmt.Errorf("lock %s: %w", path, err)
		case !held:
			return unlock, nil
		case !time.Now().Before(deadline):
			return nil, fmt.Errorf("%s: another pi has held its lock for %s", path, wait)
		}
		t.Reset(poll)
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("lock %s: %w", path, ctx.Err())
		case <-t.C:
		}
	}
}
