// Package store owns the local run records: an embedded SQLite database (WAL, so several pi
// processes can write at once) holding each local run, the pipeline as it was run and every
// transition, so `pi runs list`, `pi runs get` and `pi run --resume` can read them back. It
// also owns the rules around them: saving each transition before it is shown (Recorder),
// which pi process owns a run (Owner) and when a run may be resumed (Resumable, Claim).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"
)

// ErrNotFound is returned by Get and Resolve for an id the store does not hold.
var ErrNotFound = errors.New("no such run recorded")

// Store is an open runs database. It is safe for concurrent use.
type Store struct {
	db   *sql.DB
	path string

	prepOnce sync.Once
	prepErr  error
	stmts    stmts

	// seq is the last event number this Store wrote per run, so a batch need not ask the
	// database (one pi process writes a run's events; a resume starts a new Store).
	seqMu sync.Mutex
	seq   map[string]int64
}

// DefaultPath is $XDG_STATE_HOME/pi/runs.db, or ~/.local/state/pi/runs.db.
func DefaultPath(getenv func(string) string) (string, error) {
	if dir := getenv("XDG_STATE_HOME"); dir != "" {
		return filepath.Join(dir, "pi", "runs.db"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locating the runs database: set XDG_STATE_HOME or HOME: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".local", "state", "pi", "runs.db"), nil
}

// busyTimeout is how long a write waits for another process's lock before it fails.
const busyTimeout = 5 * time.Second

// Open opens (creating if needed) the database at path. A file that is not a runs
// database gives an error naming it and what to do.
func Open(ctx context.Context, path string) (*Store, error) {
	return open(ctx, path, busyTimeout)
}

func open(ctx context.Context, path string, busy time.Duration) (*Store, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, Diagnose(path, fmt.Errorf("creating the runs database directory: %w", err))
	}
	if err := createIfMissing(ctx, path, busy); err != nil {
		return nil, Diagnose(path, fmt.Errorf("creating the runs database: %w", err))
	}
	if err := checkNotEmpty(path); err != nil {
		return nil, err
	}
	return openDB(ctx, path, busy)
}

// createIfMissing makes a new database whole before it appears at path: it is built under a
// temporary name and linked into place, so no process ever sees a half-made file and a
// 0-byte runs.db is always a damaged one. Two pi processes creating it at once both go on
// with the file whose link came first. Where the file system has no hard links, SQLite
// creates the file in place as before.
func createIfMissing(ctx context.Context, path string, busy time.Duration) error {
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".new-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	f.Close()
	defer func() {
		for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
			os.Remove(tmp + suffix)
		}
	}()
	s, err := openDB(ctx, tmp, busy)
	if err != nil {
		return err
	}
	if err := s.Close(); err != nil {
		return err
	}
	// A failed link means another process linked its file first (use that one), or a file
	// system without hard links (SQLite then creates the file in place).
	_ = os.Link(tmp, path)
	return nil
}

// openDB opens the database file at path and brings its schema up to date.
func openDB(ctx context.Context, path string, busy time.Duration) (*Store, error) {
	// busy_timeout lets a second pi process wait for the writer instead of failing. The
	// log is folded into the file every 256 pages (1 MiB) rather than SQLite's 1000: a pi
	// that exits without closing the database (cli's Factory.Exits) leaves the log for the
	// next opener to read, which costs about 7 µs a page. A connection caches 512 KiB of
	// pages, not SQLite's 2 MiB: a run's writes go to the ends of its tables and rows it
	// just wrote, and at 5,000 steps the bigger cache was a tenth of pi's memory.
	dsn := "file:" + path + "?_pragma=busy_timeout(" + strconv.FormatInt(busy.Milliseconds(), 10) + ")&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(256)&_pragma=cache_size(-512)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, damaged(path, err)
	}
	s := &Store{db: db, path: path}
	if err := s.migrateRetrying(ctx); err != nil {
		db.Close()
		return nil, Diagnose(path, err)
	}
	return s, nil
}

// migrateRetrying is migrate, tried again while another process holds the file's lock in a
// way SQLite does not wait for itself: a new file's switch to WAL while the other process
// creates the schema returns SQLITE_BUSY at once. The wait is bounded like busy_timeout.
func (s *Store) migrateRetrying(ctx context.Context) error {
	deadline := time.Now().Add(5 * time.Second)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := s.migrate(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// isBusy reports SQLITE_BUSY (another connection holds the lock).
func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 5
}

func damaged(path string, err error) error {
	return &damagedError{path: path, err: err}
}

type damagedError struct {
	path string
	err  error
}

func (e *damagedError) Error() string {
	return fmt.Sprintf("runs database %s is unreadable (%v); move it aside or delete it to start a new record of local runs", e.path, e.err)
}

func (e *damagedError) Unwrap() error { return e.err }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }
