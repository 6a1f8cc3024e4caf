package cache

import (
	"context"
	"fmt"
	"time"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/reuse"
	"github.com/pi-cli/pi/internal/run"
)

// Mode says how a run uses the cache.
type Mode int

const (
	// Use reads the cache and writes what the run pays for (the default).
	Use Mode = iota
	// Read reads, never writes (--cache=read: pull-request CI with a restored cache).
	Read
	// Write reuses nothing but writes what the run pays for (--no-cache).
	Write
)

// Policy is how a run of a pipeline uses the cache.
type Policy struct {
	Mode Mode
	// Server is the identity of the server the run goes to (ServerIdentity, Sandbox).
	Server string
	// Reroll are steps (ids, or matrix step ids for all their expansions) that pay for a
	// new variant: their dependents' inputs change with them.
	Reroll []string
	// Cacheable says whether a step may use the cache at all; nil: the Pi actions (a
	// local action only when its step asks for it, which the caller says here).
	Cacheable func(st *pipeline.Step) bool
	// Jobs verifies hits with the server.
	Jobs Jobs
	// Notify is told when the plan waits for a job another pi is making (nil: nobody).
	Notify func(msg string)
}

func (pol *Policy) cacheable(st *pipeline.Step) bool {
	if pol.Cacheable != nil {
		return pol.Cacheable(st)
	}
	return Cacheable(st)
}

// Cacheable is whether a step may use the step cache by default: as its `cache:` says,
// else the Pi actions yes and the local ones (shell.run, http.request) no.
func Cacheable(st *pipeline.Step) bool {
	if st.Cache != nil {
		return *st.Cache
	}
	a, ok := catalog.Lookup(st.Action)
	return ok && !a.Local
}

func (pol *Policy) rerolled(st *pipeline.Step) bool {
	for _, r := range pol.Reroll {
		if st.ID == r || st.Origin != nil && st.Origin.Template == r {
			return true
		}
	}
	return false
}

// Decision is what the cache said of one step before the run.
type Decision struct {
	Step, Action string
	// Key is where the step's job goes in the cache; Keyed is false when the input is not
	// known before the run (it takes a result of a step that pays) or the step is not
	// cacheable.
	Key   Key
	Keyed bool
	// JobID is the job the step reuses ("": it pays); Entry its cache entry (nil for a job
	// found through a claim).
	JobID string
	Entry *Entry
	// Note says why a step pays that could have been reused, or why it reuses nothing
	// ("rerolled: variant 2", "the server no longer has job ...").
	Note string
}

// Planned is a run cut down by the cache: what runs, what is reused, and each step's
// decision.
type Planned struct {
	*reuse.Plan
	Decisions map[string]*Decision
}

// Plan looks every step of p (expanded, params applied) up in the cache, in dependency
// order, starting from known (the results a rerun reuses, nil otherwise), verifies each hit
// with the server, and rewrites p for what must still run (reuse.Rewrite). A cache that
// cannot be read is an error: the caller says so and runs without it.
func (c *Cache) Plan(ctx context.Context, p *pipeline.Pipeline, known map[string]reuse.Known, pol Policy) (*Planned, error) {
	decisions := map[string]*Decision{}
	var firstErr error
	lookup := func(st *pipeline.Step, input map[string]any) (reuse.Known, bool) {
		d := &Decision{Step: st.ID, Action: st.Action}
		decisions[st.ID] = d
		if !pol.cacheable(st) || firstErr != nil {
			return reuse.Known{}, false
		}
		k, err := NewKey(st.Action, input, pol.Server)
		if err != nil {
			d.Note = err.Error()
			return reuse.Known{}, false
		}
		d.Key, d.Keyed = k, true
		if pol.rerolled(st) {
			if d.Key, err = c.NextVariant(ctx, k); err != nil {
				firstErr = err
			}
			d.Note = fmt.Sprintf("rerolled: variant %d", d.Key.Variant)
			return reuse.Known{}, false
		}
		if pol.Mode == Write {
			return reuse.Known{}, false
		}
		hit, err := c.Find(ctx, k, pol.Jobs)
		if err == nil && hit.Verdict.Outcome == Pending {
			if pol.Notify != nil {
				pol.Notify(fmt.Sprintf("%s: waiting for %s (made by an earlier pi) instead of paying again", st.ID, hit.Verdict.Reason))
			}
			hit, err = c.Await(ctx, hit, pol.Jobs)
		}
		if err != nil {
			firstErr = err
			return reuse.Known{}, false
		}
		d.Key = hit.Key
		if !hit.Found() {
			d.Note = hit.Verdict.Reason
			return reuse.Known{}, false
		}
		d.Entry, d.JobID = hit.Entry, hit.JobID
		return reuse.Known{JobID: hit.JobID, Result: hit.Verdict.Result}, true
	}
	all := reuse.Find(p, known, lookup)
	if firstErr != nil {
		return nil, firstErr
	}
	pl := reuse.Rewrite(p, all)
	for _, f := range pl.Forced {
		if d := decisions[f.Step]; d != nil && d.JobID != "" {
			d.JobID, d.Entry, d.Note = "", nil, "runs again: "+f.Reason
		}
	}
	return &Planned{Plan: pl, Decisions: decisions}, nil
}

// Paid counts the jobs a plan pays for, per action: the Pi steps that run.
func (pl *Planned) Paid() map[string]int {
	out := map[string]int{}
	for _, st := range pl.Pipeline.Steps {
		if a, ok := catalog.Lookup(st.Action); ok && !a.Local {
			out[st.Action]++
		}
	}
	return out
}

// Describe says, for a step of the plan, what happens to it before the run: "reuse <job>
// (<age>)", "reuse <job> (from run ...)" for a rerun's, or "pay", with the decision's
// note when there is one.
func (pl *Planned) Describe(id string, now time.Time) string {
	if k, reused := pl.Reused[id]; reused {
		if d := pl.Decisions[id]; d != nil && d.Entry != nil {
			return fmt.Sprintf("reuse %s (%s old)", k.JobID, Age(now.Sub(d.Entry.Created)))
		}
		return fmt.Sprintf("reuse %s", k.JobID)
	}
	if d := pl.Decisions[id]; d != nil && d.Note != "" {
		return "pay (" + d.Note + ")"
	}
	return "pay"
}

// Age is a coarse duration: "40s", "12m", "5h", "3d".
func Age(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", max(int(d/time.Second), 0))
	case d < time.Hour:
		return fmt.Sprintf("%dm", int(d/time.Minute))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh", int(d/time.Hour))
	}
	return fmt.Sprintf("%dd", int(d/(24*time.Hour)))
}

// Record writes into the cache the jobs a run paid for: every step of r completed in this
// run (not reused) whose step p has and may use the cache, keyed by its input resolved
// from the results of r, under the variant the plan chose (d, nil for none), else the
// newest cached one. It does nothing in Read mode. It returns the first error and goes on
// past it.
func (c *Cache) Record(ctx context.Context, p *pipeline.Pipeline, r *run.Run, decisions map[string]*Decision, pol Policy) error {
	if pol.Mode == Read {
		return nil
	}
	results := make(map[string]*run.Step, len(r.Steps))
	for i := range r.Steps {
		results[r.Steps[i].ID] = &r.Steps[i]
	}
	result := func(id string) (map[string]any, bool) {
		s, ok := results[id]
		if !ok || !s.Status.Succeeded() {
			return nil, false
		}
		return s.Result, true
	}
	var first error
	for i := range p.Steps {
		st := &p.Steps[i]
		s := results[st.ID]
		if s == nil || s.Status != run.StepCompleted || !pol.cacheable(st) {
			continue
		}
		if err := c.recordStep(ctx, st, s, result, decisions[st.ID], pol); err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (c *Cache) recordStep(ctx context.Context, st *pipeline.Step, s *run.Step, result func(string) (map[string]any, bool), d *Decision, pol Policy) error {
	input, ok := reuse.Resolve(st, result)
	if !ok {
		return nil
	}
	k, err := NewKey(st.Action, input, pol.Server)
	if err != nil {
		return err
	}
	switch {
	case d != nil && d.Keyed && d.Key.Base() == k.Base():
		k = d.Key
	default:
		e, err := c.Latest(ctx, k)
		if err != nil {
			return err
		}
		if e != nil {
			k.Variant = e.Variant
		}
	}
	return c.Put(ctx, k, st.ID, s.JobID, s.Result)
}
