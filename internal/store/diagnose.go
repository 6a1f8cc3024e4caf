package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"time"
)

// SQLite's primary result codes that say what went wrong with the file.
const (
	sqliteBusy     = 5
	sqliteLocked   = 6
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteCorrupt  = 11
	sqliteFull     = 13
	sqliteCantOpen = 14
	sqliteNotADB   = 26
)

func sqliteCode(err error) int {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		return coded.Code() & 0xff
	}
	return 0
}

// Diagnose turns a failure to use the runs database into an error that says what is wrong
// and what to do. Only a file that is not (or no longer) a database is called damaged and
// worth moving aside: a read-only or locked file, a full disk, are nothing to delete.
func Diagnose(path string, err error) error {
	if err == nil {
		return nil
	}
	var de *damagedError
	if errors.As(err, &de) {
		err = de.err
	}
	var pe *fs.PathError
	switch code := sqliteCode(err); {
	case code == sqliteReadOnly, errors.Is(err, fs.ErrPermission), errors.Is(err, syscall.EROFS),
		code == sqliteCantOpen && !writable(path):
		return &storeError{err: err, msg: fmt.Sprintf("runs database %s cannot be written (a read-only file, directory or file system): %v; make it writable, or set XDG_STATE_HOME to a writable directory", path, err)}
	case code == sqliteBusy, code == sqliteLocked:
		return &storeError{err: err, msg: fmt.Sprintf("runs database %s is locked by another process: %v; try again once it is done (the file is fine)", path, err)}
	case code == sqliteFull, errors.Is(err, syscall.ENOSPC):
		return &storeError{err: err, msg: fmt.Sprintf("runs database %s cannot grow: the disk is full (%v); free some space", path, err)}
	case code == sqliteCorrupt, code == sqliteNotADB:
		return damaged(path, err)
	case errors.As(err, &pe):
		return &storeError{err: err, msg: fmt.Sprintf("runs database %s: %v", path, err)}
	}
	if de != nil {
		return &storeError{err: err, msg: fmt.Sprintf("runs database %s cannot be used: %v", path, err)}
	}
	return err
}

type storeError struct {
	msg string
	err error
}

func (e *storeError) Error() string { return e.msg }
func (e *storeError) Unwrap() error { return e.err }

// writable reports whether the database's directory (where SQLite creates its journal)
// and the file, if it exists, accept writes.
func writable(path string) bool {
	f, err := os.CreateTemp(dirOf(path), ".pi-write-check-*")
	if err != nil {
		return false
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	if fh, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
		fh.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	return true
}

func dirOf(path string) string {
	for i := len(path) - 1; i >= 0; i-- {
		if path[i] == '/' || path[i] == os.PathSeparator {
			return path[:i+1]
		}
	}
	return "."
}

// checkNotEmpty refuses a runs database that exists but holds 0 bytes: SQLite would take it
// for a new database and pi would silently start over, while it is most likely a record
// cut short (a full disk, a crash, a bad copy).
func checkNotEmpty(path string) error {
	st, err := os.Stat(path)
	if err != nil || st.Size() != 0 || !st.Mode().IsRegular() {
		return nil
	}
	if wal, err := os.Stat(path + "-wal"); err == nil && wal.Size() > 0 {
		return nil // a database still in its write-ahead log: SQLite reads it from there
	}
	return fmt.Errorf("runs database %s is empty (0 bytes) instead of a record of local runs: it was probably cut short (a full disk, a crash, a bad copy); move it aside and pi starts a new one", path)
}

// Retry runs op until it succeeds or fails for a reason a second try cannot change, at
// most 4 times, waiting a little longer each time (50 ms, 200 ms, 800 ms: a locked or
// briefly full database). It gives up early when ctx ends.
func Retry(ctx context.Context, op func(context.Context) error) error {
	return saveRetry.do(ctx, op)
}

// retryPolicy is how often Retry tries, and its first wait (then x4).
type retryPolicy struct {
	attempts int
	wait     time.Duration
}

var saveRetry = retryPolicy{attempts: 4, wait: 50 * time.Millisecond}

func (p retryPolicy) do(ctx context.Context, op func(context.Context) error) error {
	var err error
	wait := p.wait
	for attempt := 1; ; attempt++ {
		if err = op(ctx); err == nil || attempt >= p.attempts || !retryable(err) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 4
	}
}

func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	switch sqliteCode(err) {
	case sqliteCorrupt, sqliteNotADB, sqliteReadOnly:
		return false
	}
	return true
}
