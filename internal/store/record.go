package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// Record is a stored run: the pipeline as run and its latest state.
type Record struct {
	Run      *run.Run
	File     string
	Pipeline []byte            // the pipeline file's bytes as run
	Params   map[string]string // -p overrides
	// Owner is the pi process executing the run, so a resume can tell a run that is still
	// going from one whose pi was killed; zero when none (a finished run, or a record of an
	// older version).
	Owner Owner
	// ownerText is the owner as Get read it, which Claim compares.
	ownerText string
	// Where is where the run ran; zero for a local run.
	Where
	// Body is the exact Runs API body sent (remote and sandbox runs), nil for none.
	Body []byte
	// RerunOf is the run this one reruns (pi runs rerun), "" for none.
	RerunOf string
	// CacheRead: the run was started with --cache=read, so what it pays for never goes
	// into the step cache, also when a later pi reads it again (pi runs get).
	CacheRead bool
	// ServerRuns are the server runs of a logical run (a pipeline sent in waves), in
	// wave order; nil for a run that is one server run (RemoteID) or none.
	ServerRuns []ServerRun
	// BatchID is the batch (pi run --each) whose row this run is, "" for none.
	BatchID string
}

// ServerRun is one server run of a logical run: a wave of its steps.
type ServerRun struct {
	Wave int `json:"wave"` // from 1
	// ID is the server's run id, "" while (or when never) submitted.
	ID     string     `json:"id,omitempty"`
	Steps  []string   `json:"steps"`
	Status run.Status `json:"status,omitempty"` // "" when not submitted
	// MayExist: its creation got no answer, so the server may have created it.
	MayExist bool `json:"may_exist,omitempty"`
}

// serverRunsText is a record's server runs as its row stores them: "" for none.
func serverRunsText(srs []ServerRun) (string, error) {
	if len(srs) == 0 {
		return "", nil
	}
	b, err := json.Marshal(srs)
	return string(b), err
}

// SaveServerRuns records the server runs of logical run id as they are now.
func (s *Store) SaveServerRuns(ctx context.Context, id string, srs []ServerRun) error {
	text, err := serverRunsText(srs)
	if err != nil {
		return fmt.Errorf("encoding server runs: %w", err)
	}
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET server_runs=?, updated_ms=? WHERE id=?`, text, time.Now().UnixMilli(), id)
	if err != nil {
		return fmt.Errorf("saving run %s in %s: %w", id, s.path, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	return nil
}

// Create saves a new run, or replaces the record of a resumed one (keeping its events):
// the runs row, the pipeline file and the run's steps, each step in a row of its own that
// later batches update in place.
func (s *Store) Create(ctx context.Context, rec Record) error {
	fail := func(err error) error { return fmt.Errorf("saving run %s in %s: %w", rec.Run.ID, s.path, err) }
	params, err := json.Marshal(rec.Params)
	if err != nil {
		return fmt.Errorf("encoding params: %w", err)
	}
	srs, err := serverRunsText(rec.ServerRuns)
	if err != nil {
		return fmt.Errorf("encoding server runs: %w", err)
	}
	doc := *rec.Run
	doc.Steps = nil
	rj, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("encoding run: %w", err)
	}
	if rec.Pipeline == nil {
		rec.Pipeline = []byte{}
	}
	created := rec.Run.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	st, err := s.prepared()
	if err != nil {
		return fail(err)
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fail(err)
	}
	defer tx.Rollback()
	place := rec.Place
	if place == "" {
		place = PlaceLocal
	}
	// Where a run ran, its body and what it reruns are written once: a resume keeps them.
	if _, err := tx.ExecContext(ctx, `INSERT INTO runs(id, file, pipeline, params, status, created_ms, updated_ms, run_json, owner, place, server, body, rerun_of, remote_id, cache_read, server_runs, batch_id)
		VALUES(?,?,x'',?,?,?,?,'',?,?,?,?,?,?,?,?,?)
		ON CONFLICT(id) DO UPDATE SET status=excluded.status, updated_ms=excluded.updated_ms, owner=excluded.owner`,
		rec.Run.ID, rec.File, string(params), string(rec.Run.Status),
		created.UnixMilli(), time.Now().UnixMilli(), ownerText(rec.Owner),
		place, rec.Server, rec.Body, rec.RerunOf, rec.RemoteID, rec.CacheRead, srs, rec.BatchID); err != nil {
		return fail(err)
	}
	// The pipeline is the same file on a resume: it is written once.
	if _, err := tx.ExecContext(ctx, `INSERT INTO run_docs(run_id, pipeline, run_json) VALUES(?,?,?)
		ON CONFLICT(run_id) DO UPDATE SET run_json=excluded.run_json`, rec.Run.ID, rec.Pipeline, string(rj)); err != nil {
		return fail(err)
	}
	if err := s.replaceSteps(ctx, tx, st, rec.Run); err != nil {
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	s.forgetSeq(rec.Run.ID)
	return nil
}

// replaceSteps writes r's steps as the rows of its record, in place of those it had.
func (s *Store) replaceSteps(ctx context.Context, tx *sql.Tx, st *stmts, r *run.Run) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM run_steps WHERE run_id=?`, r.ID); err != nil {
		return err
	}
	ins := tx.StmtContext(ctx, st.insertStep)
	defer ins.Close()
	for i := range r.Steps {
		step := &r.Steps[i]
		deps, err := json.Marshal(step.DependsOn)
		if err != nil {
			return fmt.Errorf("encoding step %s: %w", step.ID, err)
		}
		res, err := resultText(step.Result)
		if err != nil {
			return fmt.Errorf("encoding step %s: %w", step.ID, err)
		}
		if _, err := ins.ExecContext(ctx, r.ID, i, step.ID, step.Action, string(deps), string(step.Status),
			step.Attempts, step.JobID, step.Error, msOf(step.StartedAt), msOf(step.CompletedAt), res, step.CreationKey); err != nil {
			return err
		}
	}
	return nil
}

// ownerText is an owner as the runs row stores it: "" for none.
func ownerText(o Owner) string {
	if o.PID <= 0 {
		return ""
	}
	return o.String()
}

// Get loads a run with its pipeline. An unknown id gives ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (*Record, error) {
	var rec Record
	var params, status, owner, srs string
	var rj sql.NullString
	var created, updated, idle int64
	err := s.db.QueryRowContext(ctx, `SELECT r.file, d.pipeline, r.params, r.status, r.created_ms, r.updated_ms, d.run_json, r.owner,
		r.place, r.server, r.body, r.rerun_of, r.remote_id, r.cache_read, r.idle_ms, r.server_runs, r.batch_id
		FROM runs r LEFT JOIN run_docs d ON d.run_id = r.id WHERE r.id=?`, id).
		Scan(&rec.File, &rec.Pipeline, &params, &status, &created, &updated, &rj, &owner,
			&rec.Place, &rec.Server, &rec.Body, &rec.RerunOf, &rec.RemoteID, &rec.CacheRead, &idle, &srs, &rec.BatchID)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading run %s from %s: %w", id, s.path, err)
	}
	rec.ownerText = owner
	rec.Owner, _ = ParseOwner(owner)
	if err := json.Unmarshal([]byte(params), &rec.Params); err != nil {
		return nil, fmt.Errorf("run %s in %s: params: %w", id, s.path, err)
	}
	if srs != "" {
		if err := json.Unmarshal([]byte(srs), &rec.ServerRuns); err != nil {
			return nil, fmt.Errorf("run %s in %s: server runs: %w", id, s.path, err)
		}
	}
	rec.Run = new(run.Run)
	if rj.Valid {
		if err := json.Unmarshal([]byte(rj.String), rec.Run); err != nil {
			return nil, fmt.Errorf("run %s in %s: %w", id, s.path, err)
		}
	}
	rec.Run.ID = id
	if rec.Run.Steps, err = readSteps(ctx, s.db, id); err != nil {
		return nil, fmt.Errorf("reading run %s from %s: %w", id, s.path, err)
	}
	rec.Run.Status = run.Status(status)
	rec.Run.CreatedAt = time.UnixMilli(created)
	rec.Run.UpdatedAt = time.UnixMilli(updated)
	rec.Run.Idle = time.Duration(idle) * time.Millisecond
	return &rec, nil
}

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

func readSteps(ctx context.Context, q querier, id string) ([]run.Step, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, action, depends_on, status, attempts, job_id, error, started_ms, completed_ms, result, creation_key
		FROM run_steps WHERE run_id=? ORDER BY idx`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	steps := []run.Step{}
	var results resultCache
	for rows.Next() {
		var (
			st               run.Step
			deps, status     string
			res              sql.NullString
			started, stopped int64
		)
		if err := rows.Scan(&st.ID, &st.Action, &deps, &status, &st.Attempts, &st.JobID, &st.Error, &started, &stopped, &res, &st.CreationKey); err != nil {
			return nil, err
		}
		st.Status = run.StepStatus(status)
		st.StartedAt, st.CompletedAt = timeOfMs(started), timeOfMs(stopped)
		if st.DependsOn, err = decodeIDs(deps); err != nil {
			return nil, fmt.Errorf("step %s: depends_on: %w", st.ID, err)
		}
		if res.Valid {
			if st.Result, err = results.decode(res.String); err != nil {
				return nil, fmt.Errorf("step %s: result: %w", st.ID, err)
			}
		}
		steps = append(steps, st)
	}
	return steps, rows.Err()
}

func msOf(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func timeOfMs(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// resultText is a step result as stored: JSON, or NULL for none.
func resultText(res map[string]any) (any, error) {
	if res == nil {
		return nil, nil
	}
	b, err := json.Marshal(res)
	if err != nil {
		return nil, err
	}
	return string(b), nil
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
