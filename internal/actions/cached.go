package actions

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/pi-cli/pi/internal/cache"
	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// ErrBudget is the failure of a job creation past --max-jobs.
var ErrBudget = errors.New("--max-jobs reached")

// Paying is how a local run pays for Pi jobs: through the step cache and within a budget.
// Its Reuse is the engine's hook (a step an earlier job stands for is not run; one whose
// job another pi is making waits for it), and it wraps the JobAPI the Pi actions create
// and wait for jobs with: every creation is claimed in the cache first (its
// Idempotency-Key is the claim's, the same after a crash or in another pi), its job id is
// claimed the moment it is known, and a completed job is recorded for the next runs.
type Paying struct {
	API   JobAPI
	Cache *cache.Cache // nil: no cache, only the budget
	// Policy is the cache's (mode, server identity, rerolls, which steps may use it);
	// its Jobs verifies hits.
	Policy cache.Policy
	// MaxJobs bounds the job creations this run makes, retries included (< 0: none).
	MaxJobs int
	// Warn is told what goes wrong with the cache (the run goes on without it).
	Warn func(msg string)

	created atomic.Int64
	mu      sync.Mutex
	keys    map[string]pendingKey // action+input -> its key, chosen by Reuse
	jobs    map[string]pendingKey // job id -> its key, until it ends
}

// pendingKey is where a step's job goes in the cache.
type pendingKey struct {
	key  cache.Key
	step string
}

// Created is how many job creations were asked of the API.
func (p *Paying) Created() int { return int(p.created.Load()) }

// Reuse is the engine's Options.Reuse: the step cache's verified job for the step, or the
// job a claim says is being made for it.
func (p *Paying) Reuse(ctx context.Context, st *pipeline.Step, input map[string]any) engine.Reused {
	if p.Cache == nil || !p.cacheable(st) {
		return engine.Reused{}
	}
	k, err := cache.NewKey(st.Action, input, p.Policy.Server)
	if err != nil {
		return engine.Reused{}
	}
	if p.rerolled(st) {
		if k, err = p.Cache.NextVariant(ctx, k); err != nil {
			p.warn(err)
		}
		p.remember(k, st.ID)
		return engine.Reused{}
	}
	if p.Policy.Mode == cache.Write {
		p.remember(k, st.ID)
		return engine.Reused{}
	}
	hit, err := p.Cache.Find(ctx, k, p.Policy.Jobs)
	if err != nil {
		p.warn(err)
	}
	p.remember(hit.Key, st.ID)
	switch {
	case hit.Found() && hit.Verdict.Result != nil:
		return engine.Reused{JobID: hit.JobID, Result: hit.Verdict.Result}
	case hit.Verdict.Outcome == cache.Pending && hit.JobID != "":
		if p.writes() { // --cache=read waits for the job and records nothing of it
			p.mu.Lock()
			p.jobs[hit.JobID] = pendingKey{key: hit.Key, step: st.ID}
			p.mu.Unlock()
		}
		return engine.Reused{Attach: hit.JobID}
	}
	return engine.Reused{}
}

// writes reports whether the run records in the cache (not --cache=read, nor a cache
// opened read-only).
func (p *Paying) writes() bool {
	return p.Cache != nil && p.Policy.Mode != cache.Read && !p.Cache.ReadOnly()
}

func (p *Paying) cacheable(st *pipeline.Step) bool {
	if p.Policy.Cacheable != nil {
		return p.Policy.Cacheable(st)
	}
	return cache.Cacheable(st)
}

// Wrap is reg with its local actions' executors wrapped by Local.
func (p *Paying) Wrap(reg Registry) Registry {
	out := make(Registry, len(reg))
	for name, ex := range reg {
		out[name] = p.Local(ex)
	}
	return out
}

// Local wraps the executor of a local action (shell.run, http.request): a step that asks
// for the cache (`cache: true`) records its result there once it succeeded.
func (p *Paying) Local(ex engine.Executor) engine.Executor {
	return engine.ExecutorFunc(func(ctx context.Context, req engine.Request) (map[string]any, error) {
		res, err := ex.Execute(ctx, req)
		if err != nil || !p.writes() || !p.cacheable(req.Step) {
			return res, err
		}
		k, kerr := cache.NewKey(req.Step.Action, req.Input, p.Policy.Server)
		if kerr == nil {
			if pk, ok := p.keyOf(req.Step.Action, req.Input); ok {
				k = pk.key
			}
			kerr = p.Cache.Put(ctx, k, req.Step.ID, "", res)
		}
		p.warn(kerr)
		return res, err
	})
}

func (p *Paying) rerolled(st *pipeline.Step) bool {
	for _, r := range p.Policy.Reroll {
		if st.ID == r || st.Origin != nil && st.Origin.Template == r {
			return true
		}
	}
	return false
}

func (p *Paying) remember(k cache.Key, step string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.keys == nil {
		p.keys, p.jobs = map[string]pendingKey{}, map[string]pendingKey{}
	}
	p.keys[k.Action+"\x00"+string(k.Input)] = pendingKey{key: k, step: step}
}

// keyOf is the key Reuse chose for a creation of action with input, if any.
func (p *Paying) keyOf(action string, input map[string]any) (pendingKey, bool) {
	if !p.writes() {
		return pendingKey{}, false
	}
	in, err := cache.Canonical(input)
	if err != nil {
		return pendingKey{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	pk, ok := p.keys[action+"\x00"+string(in)]
	return pk, ok
}

// CreateJob refuses a creation past the budget; otherwise it claims the job in the cache
// (a new claim takes key, the one the run recorded; an existing claim's Idempotency-Key
// replaces it: the same in every pi that makes this job), creates it and claims its id.
func (p *Paying) CreateJob(ctx context.Context, action string, input map[string]any, key string) (string, error) {
	if n := p.created.Add(1); p.MaxJobs >= 0 && int(n) > p.MaxJobs {
		return "", engine.Permanent(fmt.Errorf("%w: this run may create %d paid jobs, and this would be one more", ErrBudget, p.MaxJobs))
	}
	pk, keyed := p.keyOf(action, input)
	if keyed {
		if cl, err := p.Cache.ClaimKey(ctx, pk.key, pk.step, key); err != nil {
			p.warn(err)
		} else {
			key = cl.IdemKey
		}
	}
	id, err := p.API.CreateJob(ctx, action, input, key)
	if err != nil || !keyed {
		return id, err
	}
	if err := p.Cache.ClaimJob(ctx, pk.key, id); err != nil {
		p.warn(err)
	}
	p.mu.Lock()
	p.jobs[id] = pk
	p.mu.Unlock()
	return id, nil
}

// WaitJob waits as the API does; a job that ends is recorded in the cache (completed) or
// its claim forgotten (failed: the next attempt is a new job).
func (p *Paying) WaitJob(ctx context.Context, id string) (*Job, error) {
	j, err := p.API.WaitJob(ctx, id)
	if err != nil || !j.Status.Terminal() {
		return j, err
	}
	p.mu.Lock()
	pk, ok := p.jobs[id]
	delete(p.jobs, id)
	p.mu.Unlock()
	if !ok {
		return j, nil
	}
	if j.Status == catalog.JobCompleted {
		err = p.Cache.Put(ctx, pk.key, pk.step, id, run.JobResult(id, j.Type, j.ResultURL, j.Payload))
	} else {
		err = p.Cache.Release(ctx, pk.key)
	}
	if err != nil {
		p.warn(err)
	}
	return j, nil
}

func (p *Paying) warn(err error) {
	if p.Warn != nil && err != nil {
		p.Warn(err.Error())
	}
}
