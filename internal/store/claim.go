package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ErrClaimed is returned by Claim when another pi process changed the run since it was
// read: it resumed the run first.
var ErrClaimed = errors.New("another pi process claimed the run first")

// Claim makes owner the run's owner, atomically, provided its record is still the one prev
// (a Get) read: same owner, same last update. Of two processes that read the same record
// and both decide to resume it, exactly one gets nil; the other gets ErrClaimed.
func (s *Store) Claim(ctx context.Context, prev *Record, owner string) error {
	id := prev.Run.ID
	was := prev.Run.UpdatedAt.UnixMilli()
	// The update time moves forward even within the same millisecond, so a claim is
	// always visible to a later compare.
	now := max(time.Now().UnixMilli(), was+1)
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET owner=?, updated_ms=? WHERE id=? AND owner=? AND updated_ms=?`,
		owner, now, id, prev.Owner, was)
	if err != nil {
		return Diagnose(s.path, fmt.Errorf("claiming run %s: %w", id, err))
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("run %s: %w", id, ErrClaimed)
	}
	prev.Owner = owner
	prev.Run.UpdatedAt = time.UnixMilli(now)
	return nil
}
