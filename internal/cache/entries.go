package cache

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Entry is one completed job in the cache.
type Entry struct {
	Digest   string `json:"key"`
	Base     string `json:"-"`
	Variant  int    `json:"variant"`
	Action   string `json:"action"`
	Contract int    `json:"contract"`
	Server   string `json:"server"`
	// Step is the id of the step that made the job (the cache does not depend on it).
	Step    string         `json:"step"`
	JobID   string         `json:"job_id"`
	Result  map[string]any `json:"result"`
	Created time.Time      `json:"created_at"`
	Used    time.Time      `json:"used_at"`
	Size    int64          `json:"size"`
}

const entryColumns = `digest, base, variant, action, contract, server, step, job_id, result, created_ms, used_ms, size`

func scanEntry(row interface{ Scan(...any) error }) (*Entry, error) {
	var e Entry
	var res string
	var created, used int64
	if err := row.Scan(&e.Digest, &e.Base, &e.Variant, &e.Action, &e.Contract, &e.Server, &e.Step, &e.JobID, &res, &created, &used, &e.Size); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(res), &e.Result); err != nil {
		return nil, fmt.Errorf("entry %s: result: %w", e.Digest, err)
	}
	e.Created, e.Used = time.UnixMilli(created).UTC(), time.UnixMilli(used).UTC() // -o json prints UTC
	return &e, nil
}

// Latest is the newest variant cached for k's input (k.Variant is not looked at), or nil.
func (c *Cache) Latest(ctx context.Context, k Key) (*Entry, error) {
	e, err := scanEntry(c.db.QueryRowContext(ctx, `SELECT `+entryColumns+` FROM entries WHERE base=? ORDER BY variant DESC LIMIT 1`, k.Base()))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, c.fail("read", err)
	}
	return e, nil
}

// NextVariant is k with the variant after the newest cached for its input:
// what `--reroll` makes, so the step pays for a new job and its dependents change with it.
func (c *Cache) NextVariant(ctx context.Context, k Key) (Key, error) {
	var v sql.NullInt64
	if err := c.db.QueryRowContext(ctx, `SELECT MAX(variant) FROM entries WHERE base=?`, k.Base()).Scan(&v); err != nil {
		return k, c.fail("read", err)
	}
	k.Variant = 0
	if v.Valid {
		k.Variant = int(v.Int64) + 1
	}
	return k, nil
}

// Put records the completed job of step under k, replacing what k held, and ends k's
// claim. A result too big to keep is left out (the job is simply not cached). Then the
// least recently used entries go until the cache fits its bound.
func (c *Cache) Put(ctx context.Context, k Key, step, jobID string, result map[string]any) error {
	if err := c.writable(); err != nil {
		return err
	}
	res, err := json.Marshal(result)
	if err != nil {
		return fmt.Errorf("step cache: result of %s: %w", step, err)
	}
	if len(res) > MaxResultBytes {
		return c.Release(ctx, k)
	}
	now := c.now().UnixMilli()
	size := int64(len(res) + len(step) + len(jobID) + len(k.Server) + 200)
	digest := k.Digest()
	tx, err := c.db.BeginTx(ctx, nil)
	if err != nil {
		return c.fail("write", err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO entries(`+entryColumns+`) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)`,
		digest, k.Base(), k.Variant, k.Action, k.Contract, k.Server, step, jobID, string(res), now, now, size); err != nil {
		return c.fail("write", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM claims WHERE digest=?`, digest); err != nil {
		return c.fail("write", err)
	}
	if err := c.bound(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return c.fail("write", err)
	}
	return nil
}

// bound deletes the least recently used entries while the entries hold more than the
// bound, down to 90 % of it, so a full cache does not trim at every write.
func (c *Cache) bound(ctx context.Context, tx *sql.Tx) error {
	var total int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(size), 0) FROM entries`).Scan(&total); err != nil {
		return c.fail("write", err)
	}
	if total <= c.maxBytes {
		return nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT digest, size FROM entries ORDER BY used_ms, digest`)
	if err != nil {
		return c.fail("write", err)
	}
	var drop []string
	for rows.Next() && total > c.maxBytes*9/10 {
		var d string
		var size int64
		if err := rows.Scan(&d, &size); err != nil {
			rows.Close()
			return c.fail("write", err)
		}
		drop, total = append(drop, d), total-size
	}
	rows.Close()
	for _, d := range drop {
		if _, err := tx.ExecContext(ctx, `DELETE FROM entries WHERE digest=?`, d); err != nil {
			return c.fail("write", err)
		}
	}
	return nil
}

// Touch records that the entry was reused now (the bound drops the least recently used).
func (c *Cache) Touch(ctx context.Context, digest string) error {
	if err := c.writable(); err != nil {
		return err
	}
	if _, err := c.db.ExecContext(ctx, `UPDATE entries SET used_ms=? WHERE digest=?`, c.now().UnixMilli(), digest); err != nil {
		return c.fail("write", err)
	}
	return nil
}

// Drop deletes an entry: its job failed verification.
func (c *Cache) Drop(ctx context.Context, digest string) error {
	if err := c.writable(); err != nil {
		return err
	}
	if _, err := c.db.ExecContext(ctx, `DELETE FROM entries WHERE digest=?`, digest); err != nil {
		return c.fail("write", err)
	}
	return nil
}

// List is every entry, the most recently used first.
func (c *Cache) List(ctx context.Context) ([]*Entry, error) {
	rows, err := c.db.QueryContext(ctx, `SELECT `+entryColumns+` FROM entries ORDER BY used_ms DESC, digest`)
	if err != nil {
		return nil, c.fail("read", err)
	}
	defer rows.Close()
	var out []*Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, c.fail("read", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, c.fail("read", err)
	}
	return out, nil
}

// Prune deletes the entries not used for longer than age, and claims as old, and says how
// many entries went.
func (c *Cache) Prune(ctx context.Context, age time.Duration) (int, error) {
	if err := c.writable(); err != nil {
		return 0, err
	}
	cut := c.now().Add(-age).UnixMilli()
	res, err := c.db.ExecContext(ctx, `DELETE FROM entries WHERE used_ms < ?`, cut)
	if err != nil {
		return 0, c.fail("write", err)
	}
	if _, err := c.db.ExecContext(ctx, `DELETE FROM claims WHERE created_ms < ?`, cut); err != nil {
		return 0, c.fail("write", err)
	}
	n, _ := res.RowsAffected()
	_, _ = c.db.ExecContext(ctx, `VACUUM`) // give the space back; a busy file keeps it
	return int(n), nil
}

// Clear deletes every entry and claim and says how many entries went.
func (c *Cache) Clear(ctx context.Context) (int, error) {
	if err := c.writable(); err != nil {
		return 0, err
	}
	res, err := c.db.ExecContext(ctx, `DELETE FROM entries`)
	if err != nil {
		return 0, c.fail("write", err)
	}
	if _, err := c.db.ExecContext(ctx, `DELETE FROM claims`); err != nil {
		return 0, c.fail("write", err)
	}
	n, _ := res.RowsAffected()
	_, _ = c.db.ExecContext(ctx, `VACUUM`)
	return int(n), nil
}

func (c *Cache) fail(what string, err error) error {
	return fmt.Errorf("step cache %s: %s: %w", c.path, what, err)
}
