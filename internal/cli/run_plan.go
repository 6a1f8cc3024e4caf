package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/pi-cli/pi/internal/actions"
	"github.com/pi-cli/pi/internal/cache"
	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/reuse"
	"github.com/pi-cli/pi/internal/run"
)

// runCacheOptions are pi run's options of the step cache, and the budget of paid jobs.
type runCacheOptions struct {
	NoCache   bool     // --no-cache: reuse nothing (what is paid for is still recorded)
	CacheRead bool     // --cache=read: reuse, record nothing (pull-request CI)
	Reroll    []string // --reroll STEP: pay for a new variant of these steps
	// Repay is --repay STEP (with --resume): pay again for these steps' jobs that may
	// exist, where the endpoint ignores the Idempotency-Key (resume_repay.go).
	Repay   []string
	MaxJobs int  // --max-jobs N: refuse a run that would pay for more (when Budget)
	Budget  bool // --max-jobs was given
}

func (c runCacheOptions) mode() cache.Mode {
	switch {
	case c.NoCache:
		return cache.Write
	case c.CacheRead:
		return cache.Read
	}
	return cache.Use
}

// paidPlan is what pi decided before a run: which steps reuse an earlier job and which
// pay, the body rewritten for the rest, and the cache it asked.
type paidPlan struct {
	*cache.Planned
	p     *pipeline.Pipeline // the whole pipeline
	pol   cache.Policy
	cache *cache.Cache // nil when there is none (unusable: every step pays)
	warn  io.Writer
}

// planPaid looks p's steps up in the step cache (and in known, the results of the run a
// rerun reuses) and cuts p down to what must run. A cache that cannot be opened or read
// is a warning: then every step that known does not cover pays.
func (o *runOptions) planPaid(ctx context.Context, p *pipeline.Pipeline, server string, jobs cache.Jobs, known map[string]reuse.Known) *paidPlan {
	pp := &paidPlan{p: p, warn: o.IO.ErrOut, pol: cache.Policy{
		Mode: o.mode(), Server: server, Reroll: o.Reroll, Jobs: jobs,
		Notify: func(msg string) { fmt.Fprintln(o.IO.ErrOut, msg) },
	}}
	if o.OpenCache != nil {
		c, err := o.OpenCache(ctx, o.CacheRead)
		switch {
		case o.CacheRead && errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(o.IO.ErrOut, "note: --cache=read: there is no step cache to read (%v): every step is paid for\n", err)
		case err != nil:
			fmt.Fprintf(o.IO.ErrOut, "warning: %v: every step is paid for\n", err)
		}
		pp.cache = c
	}
	if pp.cache != nil {
		planned, err := pp.cache.Plan(ctx, p, known, pp.pol)
		if err == nil {
			pp.Planned = planned
			return pp
		}
		fmt.Fprintf(o.IO.ErrOut, "warning: %v: every step is paid for\n", err)
		pp.cache.Close()
		pp.cache = nil
	}
	pp.Planned = &cache.Planned{Plan: reuse.Rewrite(p, known), Decisions: map[string]*cache.Decision{}}
	return pp
}

// close closes the cache (its file whole again for CI to save).
func (pp *paidPlan) close() {
	if pp.cache != nil {
		if err := pp.cache.Close(); err != nil {
			fmt.Fprintf(pp.warn, "warning: %v\n", err)
		}
		pp.cache = nil
	}
}

// paidJobs is how many paid jobs the plan creates.
func (pp *paidPlan) paidJobs() int {
	n := 0
	for _, c := range pp.Paid() {
		n += c
	}
	return n
}

// budget refuses a plan that pays for more jobs than --max-jobs allows: exit 2, before
// anything is sent.
func (o *runOptions) budget(pp *paidPlan) error {
	n := pp.paidJobs()
	if !o.Budget || n <= o.MaxJobs {
		return nil
	}
	var per []string
	paid := pp.Paid()
	for _, a := range slices.Sorted(maps.Keys(paid)) {
		per = append(per, fmt.Sprintf("%s %d", a, paid[a]))
	}
	return UsageErrorf("--max-jobs %d: this run would pay for %d %s (%s) after reusing %d; nothing was sent",
		o.MaxJobs, n, pluralWord(n, "job", "jobs"), strings.Join(per, ", "), len(pp.Reused))
}

// announce says, before the run, which steps reuse earlier jobs and why steps that could
// have did not (a lost job, a forced rerun).
func (pp *paidPlan) announce(w io.Writer) {
	var reused []string
	for _, id := range pp.Order {
		if _, ok := pp.Reused[id]; ok {
			reused = append(reused, id)
		}
	}
	for _, f := range pp.Forced {
		fmt.Fprintf(w, "%s runs again: %s\n", f.Step, f.Reason)
	}
	for _, id := range pp.Order {
		if d := pp.Decisions[id]; d != nil && d.JobID == "" && d.Note != "" && !strings.HasPrefix(d.Note, "runs again:") {
			fmt.Fprintf(w, "%s pays: %s\n", id, d.Note)
		}
	}
	if len(reused) == 0 {
		return
	}
	n := pp.paidJobs()
	fmt.Fprintf(w, "reusing %d %s paid for earlier (%s); %d paid %s to go\n", len(reused), pluralWord(len(reused), "step", "steps"),
		listIDs(reused, 6), n, pluralWord(n, "job", "jobs"))
}

// listIDs joins ids, the first max of them.
func listIDs(ids []string, max int) string {
	if len(ids) <= max {
		return strings.Join(ids, ", ")
	}
	return strings.Join(ids[:max], ", ") + fmt.Sprintf(" and %d more", len(ids)-max)
}

// claimRun records, for every step that pays under a known key, that run runID is
// making its job: a pi killed while following it leaves the next pi a way to find the
// job instead of paying again.
func (pp *paidPlan) claimRun(ctx context.Context, runID string) {
	ids := make([]string, len(pp.Pipeline.Steps))
	for i := range pp.Pipeline.Steps {
		ids[i] = pp.Pipeline.Steps[i].ID
	}
	pp.claimSteps(ctx, runID, ids)
}

// claimSteps is claimRun for the steps of run runID: one server run of a logical run.
func (pp *paidPlan) claimSteps(ctx context.Context, runID string, steps []string) {
	if pp.cache == nil || pp.pol.Mode == cache.Read {
		return
	}
	for _, id := range steps {
		d := pp.Decisions[id]
		if d == nil || !d.Keyed {
			continue
		}
		if err := pp.cache.ClaimRun(ctx, d.Key, runID, id); err != nil {
			fmt.Fprintf(pp.warn, "warning: %v\n", err)
			return
		}
	}
}

// record writes into the cache the jobs the run (the whole pipeline's, reused steps
// included) paid for, and forgets the claims of the steps that failed.
func (pp *paidPlan) record(ctx context.Context, r *run.Run) {
	if pp.cache == nil || r == nil {
		return
	}
	if err := pp.cache.Record(ctx, pp.p, r, pp.Decisions, pp.pol); err != nil {
		fmt.Fprintf(pp.warn, "warning: %v\n", err)
	}
	if pp.pol.Mode == cache.Read {
		return
	}
	for i := range r.Steps {
		s := &r.Steps[i]
		if d := pp.Decisions[s.ID]; d != nil && d.Keyed && (s.Status == run.StepFailed || s.Status == run.StepSkipped) {
			_ = pp.cache.Release(ctx, d.Key) // a later run makes a new job: nothing to wait for
		}
	}
}

// describe is the line of a dry run of step st: "reuse <job> (<age> old)", "pay", or for
// a local action "run here (free)".
func (pp *paidPlan) describe(st *pipeline.Step, now time.Time) string {
	if _, reused := pp.Reused[st.ID]; !reused {
		if a, ok := catalog.Lookup(st.Action); ok && a.Local {
			return "run here (free)"
		}
	}
	return pp.Describe(st.ID, now)
}

// localPaying is how a --local run pays for its Pi jobs: through the step cache (reused
// before a job is created, claimed while made, recorded once completed) and within
// --max-jobs, which is checked first against what the cache leaves to pay for (exit 2,
// nothing run).
func (o *runOptions) localPaying(ctx context.Context, p *pipeline.Pipeline, c *piapi.Client, jobs cacheJobs, server string) (*actions.Paying, error) {
	pp := o.planPaid(ctx, p, server, jobs, nil)
	if err := o.budget(pp); err != nil {
		pp.close()
		return nil, err
	}
	maxJobs := -1
	if o.Budget {
		maxJobs = o.MaxJobs
	}
	var api actions.JobAPI
	if c != nil {
		api = actions.PiJobs(c)
	}
	return &actions.Paying{API: api, Cache: pp.cache, Policy: pp.pol, MaxJobs: maxJobs,
		Warn: func(msg string) { fmt.Fprintln(o.IO.ErrOut, "warning: "+msg) }}, nil
}

// reuseHook is the engine's Options.Reuse of a local run: nil without Pi actions.
func reuseHook(p *actions.Paying) func(context.Context, *pipeline.Step, map[string]any) engine.Reused {
	if p == nil {
		return nil
	}
	return p.Reuse
}

// planDry is a dry run's plan: against the step cache, each hit checked with the server
// when pi can ask it (the sandbox, or the Pi API with a key); without a key a hit cannot be
// checked, so it counts as paid.
func (o *runOptions) planDry(ctx context.Context, p *pipeline.Pipeline, clients *piClients) *paidPlan {
	var (
		c      *piapi.Client
		server string
		err    error
	)
	if o.Sandbox {
		c, err = clients.sandbox(ctx)
		server = cache.Sandbox
	} else if c, err = o.APIClient(); err == nil {
		var cfg piapi.Config
		if cfg, err = o.APIConfig(); err == nil {
			server = cache.ServerIdentity(cfg.BaseURL, cfg.APIKey)
		}
	}
	if err != nil || c == nil {
		cfg, _ := o.APIConfig()
		return o.planPaid(ctx, p, cache.ServerIdentity(cfg.BaseURL, cfg.APIKey), noJobs{err}, nil)
	}
	return o.planPaid(ctx, p, server, clients.cacheJobs(c), nil)
}

// noJobs answers a dry run without a server: a cached job cannot be checked.
type noJobs struct{ err error }

func (n noJobs) Job(context.Context, string, bool) (*cache.Job, error) {
	return nil, fmt.Errorf("not checked: %v", n.err)
}

func (n noJobs) RunStep(context.Context, string, string, bool) (string, string, error) {
	return "", "", fmt.Errorf("not checked: %v", n.err)
}

// perStep is the dry run's list of what each step would do ("reuse <job> (2h old)",
// "pay"), when the cache or a rerun has something to say; "" otherwise.
func (pp *paidPlan) perStep() string {
	say := len(pp.Reused) > 0 || len(pp.Forced) > 0
	for _, d := range pp.Decisions {
		say = say || d.Note != ""
	}
	if !say {
		return ""
	}
	w := 0
	for _, id := range pp.Order {
		w = max(w, len(id))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "  per step   %d reused, %d to run\n", len(pp.Reused), len(pp.Order)-len(pp.Reused))
	now := time.Now()
	for i := range pp.p.Steps { // the steps of Order, in its order
		st := &pp.p.Steps[i]
		fmt.Fprintf(&b, "    %-*s  %s\n", w, st.ID, pp.describe(st, now))
	}
	return b.String()
}
