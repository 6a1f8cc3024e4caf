package store

import (
	"context"
	"fmt"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// Summary is one line of `pi runs list`.
type Summary struct {
	ID        string     `json:"id"`
	File      string     `json:"file"`
	Status    run.Status `json:"status"`
	CreatedAt time.Time  `json:"started_at"`
	UpdatedAt time.Time  `json:"updated_at"`
	Owner     Owner      `json:"-"` // as in Record
	// Idle is the run's run.Run.Idle: the time between its pi processes, which its
	// duration does not count.
	Idle time.Duration `json:"-"`
}

// List returns up to limit runs (all when limit <= 0), newest first.
func (s *Store) List(ctx context.Context, limit int) ([]Summary, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, file, status, created_ms, updated_ms, owner, idle_ms FROM runs ORDER BY created_ms DESC, rowid DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("listing runs in %s: %w", s.path, err)
	}
	defer rows.Close()
	var out []Summary
	for rows.Next() {
		var sm Summary
		var st string
		var c, u, idle int64
		var owner string
		if err := rows.Scan(&sm.ID, &sm.File, &st, &c, &u, &owner, &idle); err != nil {
			return nil, fmt.Errorf("listing runs in %s: %w", s.path, err)
		}
		sm.Owner, _ = ParseOwner(owner)
		sm.Status, sm.CreatedAt, sm.UpdatedAt = run.Status(st), time.UnixMilli(c), time.UnixMilli(u)
		sm.Idle = time.Duration(idle) * time.Millisecond
		out = append(out, sm)
	}
	return out, rows.Err()
}

// Span is when a run's steps ran: the first start and the last end, to the millisecond.
type Span struct{ First, Last time.Time }

// StepSpans gives, per run id, the span of its steps (runs whose steps never started are
// absent): pi runs list measures a run by it, as pi run's summary and pi runs get do.
func (s *Store) StepSpans(ctx context.Context) (map[string]Span, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT run_id, MIN(started_ms), MAX(completed_ms) FROM run_steps
		WHERE started_ms > 0 GROUP BY run_id`)
	if err != nil {
		return nil, fmt.Errorf("reading runs in %s: %w", s.path, err)
	}
	defer rows.Close()
	out := map[string]Span{}
	for rows.Next() {
		var id string
		var first, last int64
		if err := rows.Scan(&id, &first, &last); err != nil {
			return nil, fmt.Errorf("reading runs in %s: %w", s.path, err)
		}
		out[id] = Span{First: timeOfMs(first), Last: timeOfMs(last)}
	}
	return out, rows.Err()
}
