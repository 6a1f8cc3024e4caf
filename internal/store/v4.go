package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

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
			{&s.stmts.insertStep, `INSERT INTO run_steps(run_id, idx, id, action, depends_on, status, attempts, job_id, error, started_ms, completed_ms, result)
				VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`},
			{&s.stmts.updateStep, `UPDATE run_steps SET status=?, attempts=?, job_id=?, error=?, started_ms=?, completed_ms=?, result=?
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

// migrateRows moves the runs of a version 1-3 file into the version 4 tables: the pipeline
// and the run (without its steps) to run_docs, each step to run_steps (the run's JSON with
// the newer per-step changes of the old steps table on top), and empties the old columns,
// so every later write of the runs row is small. It runs in the migration's transaction.
func migrateRows(ctx context.Context, tx *sql.Tx) error {
	var hasOldSteps int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name='steps'`).Scan(&hasOldSteps); err != nil {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, pipeline, run_json FROM runs WHERE run_json != ''`)
	if err != nil {
		return err
	}
	type oldRun struct {
		id       string
		pipeline []byte
		run      run.Run
	}
	var old []oldRun
	for rows.Next() {
		var o oldRun
		var rj string
		if err := rows.Scan(&o.id, &o.pipeline, &rj); err != nil {
			rows.Close()
			return err
		}
		if err := json.Unmarshal([]byte(rj), &o.run); err != nil {
			rows.Close()
			return fmt.Errorf("run %s: %w", o.id, err)
		}
		if o.pipeline == nil {
			o.pipeline = []byte{}
		}
		old = append(old, o)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for k := range old {
		o := &old[k]
		if hasOldSteps > 0 {
			if err := overlayOldSteps(ctx, tx, o.id, &o.run); err != nil {
				return err
			}
		}
		steps := o.run.Steps
		o.run.Steps = nil
		doc, err := json.Marshal(o.run)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO run_docs(run_id, pipeline, run_json) VALUES(?,?,?)`, o.id, o.pipeline, string(doc)); err != nil {
			return err
		}
		for i := range steps {
			st := &steps[i]
			deps, err := json.Marshal(st.DependsOn)
			if err != nil {
				return err
			}
			res, err := resultText(st.Result)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO run_steps(run_id, idx, id, action, depends_on, status, attempts, job_id, error, started_ms, completed_ms, result)
				VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`, o.id, i, st.ID, st.Action, string(deps), string(st.Status),
				st.Attempts, st.JobID, st.Error, msOf(st.StartedAt), msOf(st.CompletedAt), res); err != nil {
				return err
			}
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET pipeline=x'', run_json='' WHERE run_json != ''`); err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `DROP TABLE IF EXISTS steps`)
	return err
}

// overlayOldSteps applies a version 2-3 run's per-step rows (JSON, newer than its run_json).
func overlayOldSteps(ctx context.Context, tx *sql.Tx, id string, r *run.Run) error {
	rows, err := tx.QueryContext(ctx, `SELECT idx, step FROM steps WHERE run_id=?`, id)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var idx int
		var sj string
		if err := rows.Scan(&idx, &sj); err != nil {
			return err
		}
		if idx < 0 || idx >= len(r.Steps) {
			continue
		}
		if err := json.Unmarshal([]byte(sj), &r.Steps[idx]); err != nil {
			return fmt.Errorf("run %s: step %d: %w", id, idx, err)
		}
	}
	return rows.Err()
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

// decodeIDs decodes a stored depends_on list: a JSON list of step ids, read without
// encoding/json when no id needs an escape (a run of 100,000 steps has as many lists).
func decodeIDs(text string) ([]string, error) {
	switch text {
	case "null", "[]":
		return nil, nil
	}
	if inner, ok := strings.CutPrefix(text, `["`); ok && !strings.ContainsAny(text, `\`) {
		if inner, ok = strings.CutSuffix(inner, `"]`); ok {
			return strings.Split(inner, `","`), nil
		}
	}
	var ids []string
	err := json.Unmarshal([]byte(text), &ids)
	return ids, err
}

// resultCache decodes step results, once per distinct short text: the steps of a big run
// mostly have the same few results ({"exit_code":0,"stderr":"","stdout":""}), and a result
// is never changed once set (run.Run.Clone shares them too), so identical texts may share
// one decoded map.
type resultCache struct {
	seen map[string]map[string]any
}

const (
	resultCacheText = 256  // longer texts are decoded each time
	resultCacheSize = 1024 // distinct texts kept
)

func (c *resultCache) decode(text string) (map[string]any, error) {
	if m, ok := c.seen[text]; ok {
		return m, nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(text), &m); err != nil {
		return nil, err
	}
	if len(text) <= resultCacheText && len(c.seen) < resultCacheSize {
		if c.seen == nil {
			c.seen = make(map[string]map[string]any)
		}
		c.seen[text] = m
	}
	return m, nil
}
