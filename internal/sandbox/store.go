package sandbox

import (
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver, pure Go

	runstore "github.com/pi-cli/pi/internal/store"
)

// store persists runs and jobs in SQLite. All writes go through one group commit
// (store.GroupCommit, as local runs' records do): a creation waits for its batch to be
// committed before it is answered, a state change does not, and only the latest state of
// an object in a batch is written.
type store struct {
	db *sql.DB
	// putRun and putJob are prepared once: preparing is a tenth of a write's cost.
	putRun, putJob *sql.Stmt
	writes         *runstore.GroupCommit[writeOp]
	err            error // first write error, reported by close (written by the group commit only)
	closeOnce      sync.Once

	// settled lists the terminal objects committed since the server last looked: they
	// may leave memory, since the database now answers for them.
	settledMu sync.Mutex
	settled   []writeOp
}

type writeOp struct {
	table string // "runs" or "jobs"
	id    string
	doc   []byte // the object as JSON
	body  []byte // runs only: the request body as the server kept it
	// status and terminal let a restart find unfinished objects without decoding them all.
	status   string
	terminal bool
	updated  int64
	commit   chan error // receives the outcome of the op's batch
	size     int        // settled ops only: len(body)+len(doc), for the memory bound
}

const schema = `
CREATE TABLE IF NOT EXISTS runs (
	id TEXT PRIMARY KEY,
	body TEXT NOT NULL,
	doc TEXT NOT NULL,
	status TEXT NOT NULL,
	terminal INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
	id TEXT PRIMARY KEY,
	doc TEXT NOT NULL,
	status TEXT NOT NULL,
	terminal INTEGER NOT NULL,
	updated_at INTEGER NOT NULL
);`

func openStore(path string) (*store, error) {
	dsn := "file::memory:"
	if path != "" && path != ":memory:" {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("sandbox: create the database directory: %w", err)
		}
		dsn = "file:" + (&url.URL{Path: path}).EscapedPath()
	}
	dsn += "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(5000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sandbox: open database %q: %w", path, err)
	}
	// One connection: ":memory:" is per connection, and one writer is all SQLite allows.
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("sandbox: open database %q: %w (is it a sandbox database?)", path, err)
	}
	st := &store{db: db}
	if st.putRun, err = db.Prepare(`INSERT INTO runs (id, body, doc, status, terminal, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, status = excluded.status,
		terminal = excluded.terminal, updated_at = excluded.updated_at`); err == nil {
		st.putJob, err = db.Prepare(`INSERT INTO jobs (id, doc, status, terminal, updated_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, status = excluded.status,
		terminal = excluded.terminal, updated_at = excluded.updated_at`)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("sandbox: prepare writes: %w", err)
	}
	st.writes = runstore.NewGroupCommit(0, st.write)
	return st, nil
}

// put queues a write and returns a channel that receives the commit's outcome. Callers
// queue under the server's lock, so writes of one object reach the database in order.
func (st *store) put(op writeOp) <-chan error {
	op.commit = make(chan error, 1)
	if !st.writes.Add(op) {
		op.commit <- errors.New("sandbox: database closed")
	}
	return op.commit
}

// maxBatch bounds the writes of one transaction.
const maxBatch = 512

// write commits what was queued since the last batch, in transactions of at most
// maxBatch writes, and tells each write's caller the outcome.
func (st *store) write(queued []writeOp) {
	for len(queued) > 0 {
		batch := queued[:min(len(queued), maxBatch)]
		queued = queued[len(batch):]
		err := st.commit(batch)
		if err != nil && st.err == nil {
			st.err = err
		}
		if err == nil {
			st.settledMu.Lock()
			for _, op := range batch {
				if op.terminal {
					st.settled = append(st.settled, writeOp{table: op.table, id: op.id, size: len(op.body) + len(op.doc)})
				}
			}
			st.settledMu.Unlock()
		}
		for _, op := range batch {
			op.commit <- err
		}
	}
}

func (st *store) commit(batch []writeOp) error {
	// Only the last write of an object counts.
	last := map[string]int{}
	for i, op := range batch {
		last[op.table+"/"+op.id] = i
	}
	tx, err := st.db.Begin()
	if err != nil {
		return fmt.Errorf("sandbox: write: %w", err)
	}
	for i, op := range batch {
		if last[op.table+"/"+op.id] != i {
			continue
		}
		if op.table == "runs" {
			_, err = tx.Stmt(st.putRun).Exec(op.id, string(op.body), string(op.doc), op.status, op.terminal, op.updated)
		} else {
			_, err = tx.Stmt(st.putJob).Exec(op.id, string(op.doc), op.status, op.terminal, op.updated)
		}
		if err != nil {
			_ = tx.Rollback()
			return fmt.Errorf("sandbox: write %s %s: %w", op.table, op.id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sandbox: commit: %w", err)
	}
	return nil
}

// storedRun is a run row: the kept body and the last state.
type storedRun struct {
	id   string
	body []byte
	doc  []byte
}

// takeSettled returns (and forgets) the terminal objects committed since the last call.
func (st *store) takeSettled() []writeOp {
	st.settledMu.Lock()
	defer st.settledMu.Unlock()
	out := st.settled
	st.settled = nil
	return out
}

// getRun reads one run; ok is false when there is none.
func (st *store) getRun(id string) (r storedRun, ok bool, err error) {
	var body, doc string
	err = st.db.QueryRow(`SELECT body, doc FROM runs WHERE id = ?`, id).Scan(&body, &doc)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("sandbox: read run %s: %w", id, err)
	}
	return storedRun{id: id, body: []byte(body), doc: []byte(doc)}, true, nil
}

// getJob reads one job; ok is false when there is none.
func (st *store) getJob(id string) (doc []byte, ok bool, err error) {
	var d string
	err = st.db.QueryRow(`SELECT doc FROM jobs WHERE id = ?`, id).Scan(&d)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("sandbox: read job %s: %w", id, err)
	}
	return []byte(d), true, nil
}

// loadRuns reads the unfinished runs (finished ones are read when asked for).
func (st *store) loadRuns() ([]storedRun, error) {
	rows, err := st.db.Query(`SELECT id, body, doc FROM runs WHERE terminal = 0 ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("sandbox: load runs: %w", err)
	}
	defer rows.Close()
	var out []storedRun
	for rows.Next() {
		var r storedRun
		var body, doc string
		if err := rows.Scan(&r.id, &body, &doc); err != nil {
			return nil, fmt.Errorf("sandbox: load runs: %w", err)
		}
		r.body, r.doc = []byte(body), []byte(doc)
		out = append(out, r)
	}
	return out, rows.Err()
}

// loadJobs reads the unfinished jobs.
func (st *store) loadJobs() ([][]byte, error) {
	rows, err := st.db.Query(`SELECT doc FROM jobs WHERE terminal = 0 ORDER BY rowid`)
	if err != nil {
		return nil, fmt.Errorf("sandbox: load jobs: %w", err)
	}
	defer rows.Close()
	var out [][]byte
	for rows.Next() {
		var doc string
		if err := rows.Scan(&doc); err != nil {
			return nil, fmt.Errorf("sandbox: load jobs: %w", err)
		}
		out = append(out, []byte(doc))
	}
	return out, rows.Err()
}

// close writes what is queued and closes the database; it returns the first write error.
func (st *store) close() error {
	var err error
	st.closeOnce.Do(func() {
		st.writes.Close()
		err = st.err
		if cerr := st.db.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("sandbox: close database: %w", cerr)
		}
	})
	return err
}
