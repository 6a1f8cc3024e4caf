package cli

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/pi-cli/pi/internal/filelock"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/sandbox"
	"github.com/pi-cli/pi/internal/store"
)

// sandboxLatency is how long a job of `pi run --sandbox` takes: long enough to watch the
// steps move, short enough not to wait.
const sandboxLatency = 300 * time.Millisecond

// sandboxSpec is the in-process sandbox a command starts.
type sandboxSpec struct {
	// DB is its database ("" for this machine's: startSandbox).
	DB string
	// RateLimit is its rate limit (pi run --sandbox-rate-limit); N 0 for none.
	RateLimit sandbox.Rate
}

// sandboxSession is an in-process sandbox serving on loopback.
type sandboxSession struct {
	inst *sandbox.Instance
	// DB is the sandbox's database, which the runs' records name: its runs and jobs outlive
	// this pi, so `pi runs get` (download, report, rerun) of a sandbox run works later.
	DB     string
	unlock func()
}

// Close stops the sandbox (its unfinished runs resume when its database is opened again)
// and lets another pi open its database.
func (s *sandboxSession) Close() {
	s.inst.Close()
	if s.unlock != nil {
		s.unlock()
	}
}

// ErrSandboxBusy says another pi process is using a sandbox database.
var ErrSandboxBusy = errors.New("another pi process is using this sandbox")

// startSandbox serves an in-process sandbox on a loopback port with a random key, keeping
// its state in db, or, when db is "", in the state directory's sandbox.db (next to
// runs.db) — or, while another pi process uses that one, in a database of its own there.
// One process at a time opens a sandbox database: the sandbox resumes the runs it finds
// unfinished, which must be only its own.
func startSandbox(ctx context.Context, getenv func(string) string, spec sandboxSpec) (*sandboxSession, error) {
	db := spec.DB
	var unlock func()
	if db == "" {
		runs, err := store.DefaultPath(getenv)
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(filepath.Dir(runs), "sandbox")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sandbox state directory: %w", err)
		}
		db = filepath.Join(dir, "sandbox.db")
		if unlock, err = lockSandbox(db); errors.Is(err, ErrSandboxBusy) {
			db = filepath.Join(dir, "sandbox-"+uuid.NewString()[:8]+".db")
			unlock, err = lockSandbox(db)
		}
		if err != nil {
			return nil, err
		}
	} else {
		var err error
		if unlock, err = lockSandbox(db); err != nil {
			return nil, err
		}
	}
	inst, err := sandbox.Start(ctx, sandbox.Options{Latency: sandboxLatency, DBPath: db, RateLimit: spec.RateLimit})
	if err != nil {
		unlock()
		return nil, err
	}
	return &sandboxSession{inst: inst, DB: db, unlock: unlock}, nil
}

// lockSandbox locks a sandbox database for this process (ErrSandboxBusy: another has it).
func lockSandbox(db string) (func(), error) {
	unlock, held, err := filelock.TryLock(db+".lock", 0o600)
	if err == nil && !held && !filelock.CrossProcess {
		// without a lock between processes, each pi keeps its sandbox in a database of its own
		unlock()
		held = true
	}
	switch {
	case err != nil:
		return nil, fmt.Errorf("sandbox %s: %w", db, err)
	case held:
		return nil, fmt.Errorf("sandbox %s: %w", db, ErrSandboxBusy)
	}
	return unlock, nil
}

// rehostImages points the images of a sandbox run's results at this sandbox: an image URL
// is the address of the sandbox that made it (a loopback port of an earlier pi), which
// this one serves under the same path.
func (s *sandboxSession) rehostImages(r *run.Run) {
	for i := range r.Steps {
		st := &r.Steps[i]
		var res map[string]any
		for _, k := range []string{"image_url", "result_url"} {
			v, ok := st.Result[k].(string)
			if !ok {
				continue
			}
			if u, moved := rehostURL(v, s.inst.URL); moved {
				if res == nil {
					res = maps.Clone(st.Result)
				}
				res[k] = u
			}
		}
		if res != nil {
			st.Result = res
		}
	}
}

// rehostURL is a sandbox image URL (a loopback address, under /files/) at origin instead;
// moved is false for any other URL, or one already there.
func rehostURL(v, origin string) (string, bool) {
	base, err := url.Parse(origin)
	if err != nil || origin == "" {
		return v, false
	}
	u, err := url.Parse(v)
	if err != nil || u.Hostname() != "127.0.0.1" || !strings.HasPrefix(u.Path, "/files/") || u.Host == base.Host {
		return v, false
	}
	u.Scheme, u.Host = base.Scheme, base.Host
	return u.String(), true
}

// rateFlag is a rate-limit flag (sandbox.ParseRate): pi serve --rate-limit, pi run
// --sandbox-rate-limit.
type rateFlag struct{ r *sandbox.Rate }

func (f rateFlag) String() string {
	if f.r == nil {
		return ""
	}
	return f.r.String()
}

func (f rateFlag) Set(s string) error {
	r, err := sandbox.ParseRate(s)
	if err != nil {
		return err
	}
	*f.r = r
	return nil
}

func (rateFlag) Type() string { return "rate" }
