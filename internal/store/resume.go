package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// ErrClaimed is returned by Claim when another pi process changed the run since it was
// read: it resumed the run first.
var ErrClaimed = errors.New("another pi process claimed the run first")

// NotResumableError: the run ended in a way resuming cannot change (completed), or is in
// no state a run is resumed from.
type NotResumableError struct {
	ID     string
	Status run.Status
}

func (e *NotResumableError) Error() string {
	return fmt.Sprintf("run %s is %s; only a failed or cancelled run (or one whose pi was killed) can be resumed", e.ID, e.Status)
}

// OwnedError: the run is in progress and its pi process may still be executing it, so a
// resume would run its steps twice. Elsewhere says the owner is on another host (Owner.Host),
// where it cannot be checked; otherwise the owner process was found alive.
type OwnedError struct {
	ID        string
	Owner     Owner
	Elsewhere bool
}

func (e *OwnedError) Error() string {
	if e.Elsewhere {
		return fmt.Sprintf("run %s is in progress on host %s; resume it there if its pi was stopped", e.ID, e.Owner.Host)
	}
	return fmt.Sprintf("run %s is still running (pi process %d)", e.ID, e.Owner.PID)
}

// Takeover says why a run may be resumed.
type Takeover int

const (
	// TakeoverEnded: the run failed or was cancelled.
	TakeoverEnded Takeover = iota
	// TakeoverInterrupted: recorded in progress, but its pi process is gone.
	TakeoverInterrupted
	// TakeoverUnowned: recorded in progress by an older pi that did not record its process;
	// it is taken as interrupted.
	TakeoverUnowned
)

// Resumable says whether the run rec holds may be resumed, and why: a failed or cancelled
// run, or one recorded in progress whose pi process is gone. A run whose pi may still be
// running it is refused with an *OwnedError (two engines would run the same steps), any
// other with a *NotResumableError.
func Resumable(rec *Record) (Takeover, error) {
	id := rec.Run.ID
	switch rec.Run.Status {
	case run.Failed, run.Cancelled:
		return TakeoverEnded, nil
	case run.InProgress, run.Pending:
	default:
		return 0, &NotResumableError{ID: id, Status: rec.Run.Status}
	}
	o := rec.Owner
	switch o.Liveness() {
	case OwnerUnknown:
		return TakeoverUnowned, nil
	case OwnerElsewhere:
		return 0, &OwnedError{ID: id, Owner: o, Elsewhere: true}
	case OwnerAlive:
		return 0, &OwnedError{ID: id, Owner: o}
	}
	return TakeoverInterrupted, nil
}

// Claim makes owner the run's owner, atomically, provided its record is still the one prev
// (a Get) read: same owner, same last update. Of two processes that read the same record
// and both decide to resume it, exactly one gets nil; the other gets ErrClaimed. The time
// since that last update (when the previous pi ended, or was killed) is added to the run's
// Idle: no pi worked on it, so its duration does not count it.
func (s *Store) Claim(ctx context.Context, prev *Record, owner Owner) error {
	id := prev.Run.ID
	was := prev.Run.UpdatedAt.UnixMilli()
	// The update time moves forward even within the same millisecond, so a claim is
	// always visible to a later compare.
	now := max(time.Now().UnixMilli(), was+1)
	idle := now - was
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET owner=?, updated_ms=?, idle_ms=idle_ms+? WHERE id=? AND owner=? AND updated_ms=?`,
		ownerText(owner), now, idle, id, prev.ownerText, was)
	if err != nil {
		return Diagnose(s.path, fmt.Errorf("claiming run %s: %w", id, err))
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("run %s: %w", id, ErrClaimed)
	}
	prev.Owner, prev.ownerText = owner, ownerText(owner)
	prev.Run.UpdatedAt = time.UnixMilli(now)
	prev.Run.Idle += time.Duration(idle) * time.Millisecond
	return nil
}
