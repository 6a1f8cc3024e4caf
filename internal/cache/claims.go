package cache

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/google/uuid"
)

// Claim is a job being made for a key, recorded before it is asked for: its
// Idempotency-Key is the same in every process and after a crash (an endpoint that honours
// the key replays the job it made instead of making and charging a second), and its job id
// (a local run) or its run and step (a remote run) once known, so the next pi waits for or
// reuses that job instead of paying again.
type Claim struct {
	Digest  string
	IdemKey string
	JobID   string
	RunID   string
	Step    string
	Created time.Time
}

// Claim returns k's claim, recording a new one (with a new Idempotency-Key) for step when
// there is none. Two processes claiming at once get the same claim.
func (c *Cache) Claim(ctx context.Context, k Key, step string) (*Claim, error) {
	return c.ClaimKey(ctx, k, step, "")
}

// ClaimKey is Claim, a new claim taking idemKey (the one a run recorded before sending its
// creation; "" for a new one).
func (c *Cache) ClaimKey(ctx context.Context, k Key, step, idemKey string) (*Claim, error) {
	if err := c.writable(); err != nil {
		return nil, err
	}
	if idemKey == "" {
		idemKey = uuid.NewString()
	}
	if _, err := c.db.ExecContext(ctx, `INSERT OR IGNORE INTO claims(digest, idem_key, job_id, run_id, step, created_ms) VALUES(?,?,'','',?,?)`,
		k.Digest(), idemKey, step, c.now().UnixMilli()); err != nil {
		return nil, c.fail("write", err)
	}
	cl, err := c.Claimed(ctx, k)
	if err == nil && cl == nil {
		err = c.fail("read", errors.New("a claim just written is gone"))
	}
	return cl, err
}

// Claimed is k's claim, or nil.
func (c *Cache) Claimed(ctx context.Context, k Key) (*Claim, error) {
	var cl Claim
	var created int64
	err := c.db.QueryRowContext(ctx, `SELECT digest, idem_key, job_id, run_id, step, created_ms FROM claims WHERE digest=?`, k.Digest()).
		Scan(&cl.Digest, &cl.IdemKey, &cl.JobID, &cl.RunID, &cl.Step, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, c.fail("read", err)
	}
	cl.Created = time.UnixMilli(created)
	return &cl, nil
}

// ClaimJob records the job made for k's claim, the moment its id is known.
func (c *Cache) ClaimJob(ctx context.Context, k Key, jobID string) error {
	if err := c.writable(); err != nil {
		return err
	}
	if _, err := c.db.ExecContext(ctx, `UPDATE claims SET job_id=? WHERE digest=?`, jobID, k.Digest()); err != nil {
		return c.fail("write", err)
	}
	return nil
}

// ClaimRun records the remote run (and its step) that makes k's job.
func (c *Cache) ClaimRun(ctx context.Context, k Key, runID, step string) error {
	if err := c.writable(); err != nil {
		return err
	}
	if _, err := c.db.ExecContext(ctx, `INSERT INTO claims(digest, idem_key, job_id, run_id, step, created_ms) VALUES(?,?,'',?,?,?)
		ON CONFLICT(digest) DO UPDATE SET run_id=excluded.run_id, step=excluded.step, job_id=''`,
		k.Digest(), uuid.NewString(), runID, step, c.now().UnixMilli()); err != nil {
		return c.fail("write", err)
	}
	return nil
}

// Release ends k's claim without a result: its job failed (or is gone), so the next
// attempt is a new job with a new Idempotency-Key.
func (c *Cache) Release(ctx context.Context, k Key) error {
	if err := c.writable(); err != nil {
		return err
	}
	if _, err := c.db.ExecContext(ctx, `DELETE FROM claims WHERE digest=?`, k.Digest()); err != nil {
		return c.fail("write", err)
	}
	return nil
}
