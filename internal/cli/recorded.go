package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/pi-cli/pi/internal/cache"
	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/reuse"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// checkRunRef refuses what cannot name a run: a run id is a UUID, or the first 4 or more
// characters of one this machine recorded.
func checkRunRef(id string) error {
	if catalog.IsUUID(id) {
		return nil
	}
	if len(id) >= store.MinPrefix && len(id) < 36 && strings.Trim(strings.ToLower(id), "0123456789abcdef-") == "" {
		return nil
	}
	return UsageErrorf("%q: expected a run id (UUID, or its first %d or more characters)", id, store.MinPrefix)
}

// recordedRuns reads the runs this machine recorded for the commands that take a run id:
// an id or a unique prefix; a remote or sandbox run is read again from its server (and
// what it paid for goes into the step cache), when that server can be asked.
type recordedRuns struct {
	ctx context.Context
	f   *Factory
	// client is the server of the last run read (nil: local, or it could not be asked),
	// sess the in-process sandbox serving it.
	client *piapi.Client
	sess   *sandboxSession
	// note says why the last remote run read is its recorded state, "" when it is fresh.
	note string
}

func newRecordedRuns(ctx context.Context, f *Factory) *recordedRuns {
	return &recordedRuns{ctx: ctx, f: f}
}

// close stops the sandbox a sandbox run was read from.
func (rr *recordedRuns) close() {
	if rr.sess != nil {
		rr.sess.Close()
		rr.sess = nil
	}
}

// lookup is a localRunLookup: the record of id (or of the one run whose id starts with
// it), refreshed from its server. found is false for a whole UUID this machine did not
// record (it may be a run on the Pi API); a prefix that names no run, or several, is a
// usage error.
func (rr *recordedRuns) lookup(id string) (*store.Record, bool, error) {
	path, err := store.DefaultPath(rr.f.Getenv)
	if err != nil {
		return nil, false, nil
	}
	if _, err := os.Stat(path); err != nil {
		if catalog.IsUUID(id) {
			return nil, false, nil
		}
		return nil, false, UsageErrorf("no run recorded on this machine starts with %q ('pi runs list' shows them)", id)
	}
	st, err := store.Open(rr.ctx, path)
	if err != nil {
		return nil, false, err
	}
	defer st.Close()
	full, err := st.Resolve(rr.ctx, id)
	var amb *store.AmbiguousError
	switch {
	case errors.As(err, &amb):
		return nil, false, &ExitError{Code: ExitUsage, Err: err}
	case errors.Is(err, store.ErrNotFound) && catalog.IsUUID(id):
		return nil, false, nil
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrShortPrefix):
		return nil, false, UsageErrorf("no run recorded on this machine starts with %q ('pi runs list' shows them)", id)
	case err != nil:
		return nil, false, err
	}
	rec, err := st.Get(rr.ctx, full)
	if err != nil {
		return nil, false, err
	}
	switch {
	case len(rec.ServerRuns) > 0:
		rr.refreshWaves(st, rec)
	case rec.Remote():
		rr.refresh(st, rec)
	}
	return rec, true, nil
}

// refresh reads a remote or sandbox run again from its server into rec.Run (the reused
// steps as recorded), saves it, and records what it paid for in the step cache. When the
// server cannot be asked, rec keeps its recorded state and rr.note says why.
func (rr *recordedRuns) refresh(st *store.Store, rec *store.Record) {
	rr.note = ""
	c, server, why := rr.serverOf(rec)
	if c == nil {
		rr.note = fmt.Sprintf("run %s: %s; showing its last recorded state", rec.Run.ID, why)
		return
	}
	r, err := c.GetRun(rr.ctx, rec.RemoteID, false, 0)
	if err != nil {
		rr.note = fmt.Sprintf("run %s could not be read again from %s (%v); showing its last recorded state", rec.Run.ID, c.BaseURL(), err)
		if rec.Place == store.PlaceRemote && !sameServer(c.BaseURL(), rec.Server) {
			rr.note += fmt.Sprintf(" (it ran on %s: give --base-url %s to read it there)", rec.Server, rec.Server)
		}
		return
	}
	rr.client = c
	rec.Run = rr.view(rec.Run, r)
	if err := st.SaveRun(rr.ctx, rec.Run); err != nil {
		fmt.Fprintf(rr.f.IO.ErrOut, "warning: %v\n", err)
	}
	rr.harvest(rec, server)
}

// view is what the server says of a recorded run, as the whole pipeline shows it: the
// recorded reused steps kept, a sandbox's images served by this pi's sandbox.
func (rr *recordedRuns) view(recorded, server *run.Run) *run.Run {
	r := reuse.Overlay(recorded, server)
	r.ID = recorded.ID
	if rr.sess != nil {
		rr.sess.rehostImages(r)
	}
	return r
}

// serverOf is a client of the server a recorded run ran on and that server's identity in
// the step cache: its sandbox (started on the run's sandbox database), or the configured
// Pi API (the key goes nowhere else, even when the record names another address: a run
// the configured server does not know is shown as recorded). nil with why when it cannot
// be asked.
func (rr *recordedRuns) serverOf(rec *store.Record) (*piapi.Client, string, string) {
	if rec.Place == store.PlaceSandbox {
		if rr.sess != nil && rr.sess.DB == rec.Server {
			return rr.client, cache.Sandbox, ""
		}
		rr.close()
		c, sess, err := rr.f.sandboxClient(rr.ctx, sandboxSpec{DB: rec.Server})
		if err != nil {
			return nil, "", fmt.Sprintf("its sandbox cannot be opened (%v)", err)
		}
		rr.sess = sess
		return c, cache.Sandbox, ""
	}
	cfg, err := rr.f.apiConfig()
	if err != nil {
		return nil, "", err.Error()
	}
	c, err := rr.f.apiClient()
	if err != nil {
		return nil, "", err.Error()
	}
	return c, cache.ServerIdentity(cfg.BaseURL, cfg.APIKey), ""
}

// serveImages serves again the sandbox of a run whose jobs a sandbox made (--local
// --sandbox, or --sandbox with every step reused, so nothing was read back from it), so
// that its images, at the address of a sandbox that ended with its pi, can be fetched
// while the command runs: rec's image URLs are pointed at it. Any other run is left as it
// is. When the sandbox cannot be opened, rr.note says why.
func (rr *recordedRuns) serveImages(rec *store.Record) {
	if rec.Place == store.PlaceRemote || rec.Server == "" {
		return
	}
	if rr.sess == nil || rr.sess.DB != rec.Server {
		if _, _, why := rr.serverOf(&store.Record{Where: store.Where{Place: store.PlaceSandbox, Server: rec.Server}}); why != "" {
			rr.note = fmt.Sprintf("run %s ran on a sandbox, and %s; its images may not be fetched", rec.Run.ID, why)
			return
		}
	}
	rec.Run = rec.Run.Clone()
	rr.sess.rehostImages(rec.Run)
}

// sameServer reports whether two base URLs name one server.
func sameServer(a, b string) bool { return strings.TrimRight(a, "/") == strings.TrimRight(b, "/") }

// harvest records in the step cache the jobs a recorded run paid for: a run followed by
// another pi (--detach, or one killed while following) is paid for once too. A run
// started with --cache=read is not: it writes nothing, then or later.
func (rr *recordedRuns) harvest(rec *store.Record, server string) {
	if rec.CacheRead {
		return
	}
	p, _, ds, err := pipeline.Load(rec.File, pipeline.Options{Mode: pipeline.Remote, Params: rec.Params, Data: rec.Pipeline})
	if err != nil || p == nil || ds.HasErrors() {
		return // an old record, or a file this pi reads otherwise: nothing to key by
	}
	c, err := rr.f.openCache(rr.ctx, false)
	if err != nil {
		return
	}
	defer c.Close()
	if err := c.Record(rr.ctx, p, rec.Run, nil, cache.Policy{Server: server}); err != nil {
		fmt.Fprintf(rr.f.IO.ErrOut, "warning: %v\n", err)
	}
}
