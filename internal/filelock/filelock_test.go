package filelock

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A lock is held against a second taker until it is let go, and Wait gives up at its
// bound or with its context.
func TestLockIsExclusive(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.lock")
	unlock, held, err := TryLock(path, 0o600)
	if err != nil || held {
		t.Fatalf("first TryLock: held %v, %v", held, err)
	}
	if _, held, err := TryLock(path, 0o600); err != nil || !held {
		t.Fatalf("second TryLock while the first holds it: held %v, %v", held, err)
	}
	if _, err := Wait(context.Background(), path, 0o600, 20*time.Millisecond); err == nil || !strings.Contains(err.Error(), "another pi has held its lock") {
		t.Fatalf("Wait while held: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Wait(ctx, path, 0o600, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with a cancelled context: %v", err)
	}
	unlock()
	again, err := Wait(context.Background(), path, 0o600, time.Second)
	if err != nil {
		t.Fatalf("Wait once let go: %v", err)
	}
	again()
}
