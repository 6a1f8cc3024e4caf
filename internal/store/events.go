package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// stmts are the statements of the write path, prepared once per Store: a batch runs them
// in its transaction (Tx.StmtContext) instead of compiling SQL per event.
type stmts struct {
	maxSeq      *sql.Stmt
	insertEvent *sql.Stmt
	insertStep  *sql.Stmt
	updateStep  *sql.Stmt
	setStatus   *sql.Stmt
	touch       *sql.Stmt
}

func (s *Store) prepared() (*stmts, error) {
	s.prepOnce.Do(func() {
		ctx := context.Background()
		for _, p := range []struct {
			dst **sql.Stmt
			sql string
		}{
			{&s.stmts.maxSeq, `SELECT COALESCE(MAX(seq),0) FROM events WHERE run_id=?`},
			{&s.stmts.insertEvent, `INSERT INTO events(run_id, seq, event) VALUES(?,?,?)`},
			{&s.stmts.insertStep, `INSERT INTO run_steps(run_id, idx, id, action, depends_on, status, attempts, job_id, error, started_ms, completed_ms, result, creation_key)
				VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)`},
			{&s.stmts.updateStep, `UPDATE run_steps SET status=?, attempts=?, job_id=?, error=?, started_ms=?, completed_ms=?, result=?, creation_key=?
				WHERE run_id=? AND idx=?`},
			{&s.stmts.setStatus, `UPDATE runs SET status=?, updated_ms=? WHERE id=?`},
			{&s.stmts.touch, `UPDATE runs SET updated_ms=? WHERE id=?`},
		} {
			if *p.dst, s.prepErr = s.db.PrepareContext(ctx, p.sql); s.prepErr != nil {
				return
			}
		}
	})
	return &s.stmts, s.prepErr
}

// SaveEvents records a batch of transitions of run id in one transaction (a group commit:
// a busy run pays one commit per batch, not per event): the events, the steps they touched
// in their state after the batch (each step event carries it, Event.Step), and the run's
// status when a run event is among them. Its cost depends on the batch, not on the run.
func (s *Store) SaveEvents(ctx context.Context, id string, evs []run.Event) error {
	fail := func(err error) error { return fmt.Errorf("saving run %s in %s: %w", id, s.path, err) }
	st, err := s.prepared()
	if err != nil {
		return fail(err)
	}
	b, err := newBatch(evs)
	if err != nil {
		return err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	seq, known := s.lastSeq(id)
	if !known {
		if err := tx.StmtContext(ctx, st.maxSeq).QueryRowContext(ctx, id).Scan(&seq); err != nil {
			return fail(err)
		}
	}
	if seq, err = b.write(ctx, tx, st, id, seq); err != nil {
		return fmt.Errorf("saving run %s in %s: %w", id, s.path, err)
	}
	if err := tx.Commit(); err != nil {
		s.forgetSeq(id)
		return fail(err)
	}
	s.setSeq(id, seq)
	return nil
}

// batch is a batch of transitions as SaveEvents writes it: each event encoded, the last
// state of each touched step (in the order first touched), and the run's new status if a
// run event is among them.
type batch struct {
	events [][]byte
	order  []int
	last   map[int]*run.Step
	status run.Status
}

func newBatch(evs []run.Event) (*batch, error) {
	b := &batch{events: make([][]byte, len(evs)), last: make(map[int]*run.Step, len(evs))}
	for k, ev := range evs {
		switch {
		case ev.StepID != "" && ev.Step != nil:
			if _, seen := b.last[ev.Index]; !seen {
				b.order = append(b.order, ev.Index)
			}
			b.last[ev.Index] = ev.Step
		case ev.StepID == "" && ev.Status != "":
			b.status = run.Status(ev.Status)
		}
		var err error
		if b.events[k], err = json.Marshal(evs[k]); err != nil {
			return nil, fmt.Errorf("encoding event: %w", err)
		}
	}
	return b, nil
}

// write runs the batch's statements in tx, the events numbered after seq; it returns the
// last number used.
func (b *batch) write(ctx context.Context, tx *sql.Tx, st *stmts, id string, seq int64) (int64, error) {
	ins := tx.StmtContext(ctx, st.insertEvent)
	for _, ej := range b.events {
		seq++
		if _, err := ins.ExecContext(ctx, id, seq, string(ej)); err != nil {
			return 0, fmt.Errorf("an event: %w", err)
		}
	}
	upd := tx.StmtContext(ctx, st.updateStep)
	for _, i := range b.order {
		step := b.last[i]
		res, err := resultText(step.Result)
		if err != nil {
			return 0, fmt.Errorf("encoding step %s: %w", step.ID, err)
		}
		if _, err := upd.ExecContext(ctx, string(step.Status), step.Attempts, step.JobID, step.Error,
			msOf(step.StartedAt), msOf(step.CompletedAt), res, step.CreationKey, id, i); err != nil {
			return 0, fmt.Errorf("step %s: %w", step.ID, err)
		}
	}
	now := time.Now().UnixMilli()
	var err error
	if b.status != "" {
		_, err = tx.StmtContext(ctx, st.setStatus).ExecContext(ctx, string(b.status), now, id)
	} else {
		_, err = tx.StmtContext(ctx, st.touch).ExecContext(ctx, now, id)
	}
	return seq, err
}

// Finish records the end of a run whose transitions are all saved: its status, and that
// no pi process owns it any more. It writes the runs row alone.
func (s *Store) Finish(ctx context.Context, id string, status run.Status) error {
	if _, err := s.db.ExecContext(ctx, `UPDATE runs SET status=?, updated_ms=?, owner='' WHERE id=?`,
		string(status), time.Now().UnixMilli(), id); err != nil {
		return fmt.Errorf("saving run %s in %s: %w", id, s.path, err)
	}
	return nil
}

// Events returns a run's transitions in the order they were saved.
func (s *Store) Events(ctx context.Context, id string) ([]run.Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT event FROM events WHERE run_id=? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("reading events of run %s from %s: %w", id, s.path, err)
	}
	defer rows.Close()
	var evs []run.Event
	for rows.Next() {
		var e string
		var ev run.Event
		if err := rows.Scan(&e); err != nil {
			return nil, err
		}
		if err := json.Unmarshal([]byte(e), &ev); err != nil {
			return nil, fmt.Errorf("run %s in %s: event: %w", id, s.path, err)
		}
		evs = append(evs, ev)
	}
	return evs, rows.Err()
}

func (s *Store) lastSeq(id string) (int64, bool) {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	n, ok := s.seq[id]
	return n, ok
}

func (s *Store) setSeq(id string, n int64) {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	if s.seq == nil {
		s.seq = map[string]int64{}
	}
	s.seq[id] = n
}

func (s *Store) forgetSeq(id string) {
	s.seqMu.Lock()
	defer s.seqMu.Unlock()
	delete(s.seq, id)
}
