package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Batch is the ledger of a `pi run FILE --each ROWS`: what each row runs and how it ended,
// so a later `pi run --resume ID` continues only the rows not completed.
type Batch struct {
	ID       string
	File     string // the pipeline file's name and its text as run
	Pipeline []byte
	RowsFile string
	Columns  []string          // the rows' param names, in the file's order
	Params   map[string]string // -p, the same for every row
	// Mode is how each row runs ("local", "local-sandbox", "remote", "sandbox"), as the
	// batch package names it.
	Mode      string
	Shard     string // "i/n", "" for every row
	CreatedAt time.Time
	// Owner is the pi process running the batch; zero when none does.
	Owner     Owner
	ownerText string
}

// BatchRow is one row of a batch: its params and how its run ended.
type BatchRow struct {
	Index  int // its place in the batch, from 0
	Line   int // its line in the rows file
	Params map[string]string
	// Status is the row's status word (the batch package's), Code its exit code.
	Status    string
	Code      int
	RunID     string // the row's run, "" before it has one
	Error     string // why the row could not run, "" for none
	StartedAt time.Time
	EndedAt   time.Time
}

// CreateBatch saves a new batch and its rows, owned by b.Owner.
func (s *Store) CreateBatch(ctx context.Context, b *Batch, rows []BatchRow) error {
	fail := func(err error) error { return Diagnose(s.path, fmt.Errorf("saving batch %s: %w", b.ID, err)) }
	params, err := json.Marshal(b.Params)
	if err != nil {
		return fmt.Errorf("encoding params: %w", err)
	}
	cols, err := json.Marshal(b.Columns)
	if err != nil {
		return fmt.Errorf("encoding columns: %w", err)
	}
	if b.CreatedAt.IsZero() {
		b.CreatedAt = time.Now()
	}
	if b.Pipeline == nil {
		b.Pipeline = []byte{}
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	b.ownerText = ownerText(b.Owner)
	if _, err := tx.ExecContext(ctx, `INSERT INTO batches(id, file, pipeline, rows_file, columns, params, mode, shard, created_ms, owner)
		VALUES(?,?,?,?,?,?,?,?,?,?)`, b.ID, b.File, b.Pipeline, b.RowsFile, string(cols), string(params), b.Mode, b.Shard,
		b.CreatedAt.UnixMilli(), b.ownerText); err != nil {
		return fail(err)
	}
	for i := range rows {
		if err := insertRow(ctx, tx, b.ID, &rows[i]); err != nil {
			return fail(err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	return nil
}

func insertRow(ctx context.Context, tx *sql.Tx, id string, r *BatchRow) error {
	params, err := json.Marshal(r.Params)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO batch_rows(batch_id, idx, line, params, status, code, run_id, error, started_ms, ended_ms)
		VALUES(?,?,?,?,?,?,?,?,?,?)`, id, r.Index, r.Line, string(params), r.Status, r.Code, r.RunID, r.Error,
		msOf(r.StartedAt), msOf(r.EndedAt))
	return err
}

// SaveBatchRow records how a row of batch id is now (status, code, run, error, times).
func (s *Store) SaveBatchRow(ctx context.Context, id string, r BatchRow) error {
	res, err := s.db.ExecContext(ctx, `UPDATE batch_rows SET status=?, code=?, run_id=?, error=?, started_ms=?, ended_ms=?
		WHERE batch_id=? AND idx=?`, r.Status, r.Code, r.RunID, r.Error, msOf(r.StartedAt), msOf(r.EndedAt), id, r.Index)
	if err != nil {
		return Diagnose(s.path, fmt.Errorf("saving row %d of batch %s: %w", r.Index+1, id, err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("row %d of batch %s: %w", r.Index+1, id, ErrNotFound)
	}
	return nil
}

// GetBatch reads a batch and its rows, in their order. An unknown id gives ErrNotFound.
func (s *Store) GetBatch(ctx context.Context, id string) (*Batch, []BatchRow, error) {
	b := &Batch{ID: id}
	var cols, params string
	var created int64
	err := s.db.QueryRowContext(ctx, `SELECT file, pipeline, rows_file, columns, params, mode, shard, created_ms, owner FROM batches WHERE id=?`, id).
		Scan(&b.File, &b.Pipeline, &b.RowsFile, &cols, &params, &b.Mode, &b.Shard, &created, &b.ownerText)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, fmt.Errorf("batch %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("reading batch %s from %s: %w", id, s.path, err)
	}
	b.CreatedAt = time.UnixMilli(created)
	b.Owner, _ = ParseOwner(b.ownerText)
	if err := json.Unmarshal([]byte(cols), &b.Columns); err != nil {
		return nil, nil, fmt.Errorf("batch %s in %s: columns: %w", id, s.path, err)
	}
	if err := json.Unmarshal([]byte(params), &b.Params); err != nil {
		return nil, nil, fmt.Errorf("batch %s in %s: params: %w", id, s.path, err)
	}
	rows, err := s.batchRows(ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("reading batch %s from %s: %w", id, s.path, err)
	}
	return b, rows, nil
}

func (s *Store) batchRows(ctx context.Context, id string) ([]BatchRow, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT idx, line, params, status, code, run_id, error, started_ms, ended_ms
		FROM batch_rows WHERE batch_id=? ORDER BY idx`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []BatchRow
	for rows.Next() {
		var r BatchRow
		var params string
		var started, ended int64
		if err := rows.Scan(&r.Index, &r.Line, &params, &r.Status, &r.Code, &r.RunID, &r.Error, &started, &ended); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(params), &r.Params); err != nil {
			return nil, fmt.Errorf("row %d: params: %w", r.Index+1, err)
		}
		r.StartedAt, r.EndedAt = timeOfMs(started), timeOfMs(ended)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ResolveBatch is the id of the batch id names: that id, else the one batch whose id
// starts with it (at least MinPrefix characters). None (a shorter prefix included) is
// ErrNotFound, several an *AmbiguousError.
func (s *Store) ResolveBatch(ctx context.Context, id string) (string, error) {
	got, err := s.resolve(ctx, "batches", "batch", id)
	if errors.Is(err, ErrShortPrefix) {
		return "", fmt.Errorf("batch %s: %w", id, ErrNotFound)
	}
	return got, err
}

// ClaimBatch makes owner the batch's owner, provided no other live pi process runs it
// and its record still names the owner GetBatch read: of two resumes at once, exactly one
// gets nil, the other ErrClaimed. A batch whose owner runs is an *OwnedError.
func (s *Store) ClaimBatch(ctx context.Context, b *Batch, owner Owner) error {
	if b.Owner != owner {
		switch b.Owner.Liveness() {
		case OwnerAlive:
			return &OwnedError{ID: b.ID, Owner: b.Owner}
		case OwnerElsewhere:
			return &OwnedError{ID: b.ID, Owner: b.Owner, Elsewhere: true}
		}
	}
	res, err := s.db.ExecContext(ctx, `UPDATE batches SET owner=? WHERE id=? AND owner=?`, ownerText(owner), b.ID, b.ownerText)
	if err != nil {
		return Diagnose(s.path, fmt.Errorf("claiming batch %s: %w", b.ID, err))
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("batch %s: %w", b.ID, ErrClaimed)
	}
	b.Owner, b.ownerText = owner, ownerText(owner)
	return nil
}

// ReleaseBatch says no process runs the batch any more (its rows are all recorded).
func (s *Store) ReleaseBatch(ctx context.Context, b *Batch) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE batches SET owner='' WHERE id=? AND owner=?`, b.ID, b.ownerText); err != nil {
		return Diagnose(s.path, fmt.Errorf("releasing batch %s: %w", b.ID, err))
	}
	b.Owner, b.ownerText = Owner{}, ""
	return nil
}
