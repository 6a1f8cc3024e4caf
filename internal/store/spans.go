package store

import (
	"context"
	"fmt"
	"time"
)

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
