// Package cache owns the step cache: completed jobs of earlier runs, each under a key pi
// computes from the step (action, contract version, resolved input, server identity,
// variant), kept in one SQLite file that CI can save and restore, and verified with the
// server before a job is reused. It also keeps claims: the jobs being made right now, so a
// pi killed after creating a job, or a second pi at the same step, finds that job instead
// of paying for another.
package cache

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	_ "modernc.org/sqlite" // the database/sql driver "sqlite"

	"github.com/pi-cli/pi/internal/clock"
)

// schemaVersion is kept in PRAGMA user_version; a newer file is refused, not misread.
const schemaVersion = 1

const schema = `
CREATE TABLE IF NOT EXISTS entries (
	digest     TEXT PRIMARY KEY,
	base       TEXT NOT NULL,
	variant    INTEGER NOT NULL,
	action     TEXT NOT NULL,
	contract   INTEGER NOT NULL,
	server     TEXT NOT NULL,
	step       TEXT NOT NULL,
	job_id     TEXT NOT NULL,
	result     TEXT NOT NULL,
	created_ms INTEGER NOT NULL,
	used_ms    INTEGER NOT NULL,
	size       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_base ON entries(base, variant);
CREATE INDEX IF NOT EXISTS entries_used ON entries(used_ms);
CREATE TABLE IF NOT EXISTS claims (
	digest     TEXT PRIMARY KEY,
	idem_key   TEXT NOT NULL,
	job_id     TEXT NOT NULL,
	run_id     TEXT NOT NULL,
	step       TEXT NOT NULL,
	created_ms INTEGER NOT NULL
);`

// DefaultMaxBytes bounds what the entries hold (their results, steps and ids): about
// 60,000 entries of Pi jobs. The least recently used go first.
const DefaultMaxBytes = 32 << 20

// MaxResultBytes is the largest result the cache keeps; a bigger one (the output of a
// cached shell.run) is not cached.
const MaxResultBytes = 64 << 10

// busyWait is how long a write waits for another pi process holding the file.
const busyWait = 5 * time.Second

// Cache is an open step cache. It is safe for concurrent use, also by several processes.
type Cache struct {
	db       *sql.DB
	path     string
	maxBytes int64
	clock    clock.Clock
	// readOnly: opened with Options.ReadOnly; every write is refused (ErrReadOnly) and
	// Find keeps what it finds as it is.
	readOnly bool
}

// Options tune a Cache; the zero value is the default.
type Options struct {
	MaxBytes int64       // 0: DefaultMaxBytes
	Clock    clock.Clock // nil: the wall clock
	// ReadOnly opens the file for reading only (--cache=read): SQLite refuses every
	// write, so the file stays byte for byte as it was. A missing file is an error
	// wrapping fs.ErrNotExist (nothing is created).
	ReadOnly bool
}

// ErrReadOnly is the error of a write to a cache opened read-only.
var ErrReadOnly = errors.New("the step cache is open read-only (--cache=read)")

// DefaultPath is $XDG_CACHE_HOME/pi/cache.db, or ~/.cache/pi/cache.db.
func DefaultPath(getenv func(string) string) (string, error) {
	if dir := getenv("XDG_CACHE_HOME"); dir != "" {
		return filepath.Join(dir, "pi", "cache.db"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("locating the step cache: set XDG_CACHE_HOME or HOME: %w", err)
		}
		home = h
	}
	return filepath.Join(home, ".cache", "pi", "cache.db"), nil
}

// Open opens (creating if needed, unless opts.ReadOnly) the cache file at path.
func Open(ctx context.Context, path string, opts Options) (*Cache, error) {
	busy := "_pragma=busy_timeout(" + strconv.Itoa(int(busyWait/time.Millisecond)) + ")"
	// WAL: readers never wait for a writer, and a pi killed mid-write leaves cache.db as
	// it was at the last checkpoint (whole), the newer entries in cache.db-wal.
	dsn := "file:" + path + "?" + busy + "&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_txlock=immediate"
	if opts.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("step cache %s: %w", path, err)
		}
		// mode=ro: SQLite itself refuses writes. It reads a WAL-mode file through the
		// -wal and -shm files beside it (creating them, empty, if the directory allows).
		dsn = "file:" + path + "?mode=ro&" + busy
	} else if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("step cache %s: %w", path, err)
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, unusable(path, err)
	}
	c := &Cache{db: db, path: path, maxBytes: opts.MaxBytes, clock: clock.Or(opts.Clock), readOnly: opts.ReadOnly}
	if c.maxBytes <= 0 {
		c.maxBytes = DefaultMaxBytes
	}
	if err := c.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return c, nil
}

// unusable is a cache file pi cannot use, and what to do.
func unusable(path string, err error) error {
	return fmt.Errorf("step cache %s cannot be used (%v); `pi cache clear` deletes it (the cache only saves money: nothing else is lost)", path, err)
}

func (c *Cache) migrate(ctx context.Context) error {
	deadline := time.Now().Add(busyWait)
	for wait := time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		err := c.migrateOnce(ctx)
		if err == nil || !isBusy(err) || time.Now().After(deadline) {
			if err != nil {
				return unusable(c.path, err)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return unusable(c.path, err)
		case <-time.After(wait):
		}
	}
}

// migrateOnce creates the schema in one IMMEDIATE transaction: a second pi opening a new
// file at the same moment waits, then finds it done.
func (c *Cache) migrateOnce(ctx context.Context) error {
	var v int
	if err := c.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
		return err
	}
	if v == schemaVersion {
		return nil
	}
	if v > schemaVersion {
		return fmt.Errorf("schema version %d is newer than this pi's (%d): upgrade pi or use another XDG_CACHE_HOME", v, schemaVersion)
	}
	if c.readOnly {
		return fmt.Errorf("schema version %d, and --cache=read does not upgrade it: %w", v, ErrReadOnly)
	}
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil || v == schemaVersion {
		return err
	}
	if _, err := tx.ExecContext(ctx, schema); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "PRAGMA user_version = "+strconv.Itoa(schemaVersion)); err != nil {
		return err
	}
	return tx.Commit()
}

// isBusy reports SQLITE_BUSY (another connection holds the lock).
func isBusy(err error) bool {
	var coded interface{ Code() int }
	return errors.As(err, &coded) && coded.Code()&0xff == 5
}

// Path is the cache file.
func (c *Cache) Path() string { return c.path }

// Close writes everything into the cache file itself (a WAL checkpoint), so that the file
// alone, saved by CI after pi exits, holds every entry; then it closes the database. A
// read-only cache is only closed.
func (c *Cache) Close() error {
	var cerr error
	if !c.readOnly {
		_, cerr = c.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("step cache %s: %w", c.path, err)
	}
	if cerr != nil && !isBusy(cerr) {
		return fmt.Errorf("step cache %s: checkpoint: %w", c.path, cerr)
	}
	return nil
}

// now is the cache's time: entries' and claims' times, the age of what is pruned.
func (c *Cache) now() time.Time { return c.clock.Now() }

// ReadOnly reports whether the cache was opened read-only.
func (c *Cache) ReadOnly() bool { return c.readOnly }

// writable is ErrReadOnly for a read-only cache, nil otherwise: every write asks it first.
func (c *Cache) writable() error {
	if c.readOnly {
		return fmt.Errorf("step cache %s: %w", c.path, ErrReadOnly)
	}
	return nil
}

// Remove deletes the cache file at path and its journal files: `pi cache clear` of a file
// too damaged to open.
func Remove(path string) error {
	var first error
	for _, suffix := range []string{"", "-wal", "-shm", "-journal"} {
		if err := os.Remove(path + suffix); err != nil && !errors.Is(err, os.ErrNotExist) && first == nil {
			first = err
		}
	}
	return first
}
