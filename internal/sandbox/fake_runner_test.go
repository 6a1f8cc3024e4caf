package sandbox

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// TestMain links a minimal batch runner in when the real engine is not linked in yet, so
// the sandbox's own plumbing (persistence, long-polls, restart) is tested either way.
func TestMain(m *testing.M) {
	if newRunner == nil {
		newRunner = func(p *pipeline.Pipeline, exec engine.Executor, opts engine.Options) (runner, error) {
			return newFakeRunner(p, exec, opts), nil
		}
	}
	os.Exit(m.Run())
}

type fakeRunner struct {
	p    *pipeline.Pipeline
	exec engine.Executor
	opts engine.Options
	mu   sync.Mutex
	st   *run.Run
}

func newFakeRunner(p *pipeline.Pipeline, exec engine.Executor, opts engine.Options) *fakeRunner {
	st := &run.Run{ID: opts.RunID, Status: run.Pending}
	for _, s := range p.Steps {
		st.Steps = append(st.Steps, run.Step{ID: s.ID, Action: s.Action, Status: run.StepPending, DependsOn: s.DependsOn})
	}
	if opts.Resume != nil {
		for i := range st.Steps {
			if old := opts.Resume.Step(st.Steps[i].ID); old != nil && old.Status == run.StepCompleted {
				st.Steps[i] = *old
			}
		}
	}
	return &fakeRunner{p: p, exec: exec, opts: opts, st: st}
}

func (f *fakeRunner) Snapshot() *run.Run {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.st.Clone()
}

func (f *fakeRunner) set(fn func(*run.Run)) {
	f.mu.Lock()
	fn(f.st)
	f.mu.Unlock()
	f.opts.Observer(run.Event{})
}

func (f *fakeRunner) Run(ctx context.Context) (*run.Run, error) {
	f.set(func(r *run.Run) { r.Status = run.InProgress })
	for {
		var batch []int
		f.mu.Lock()
		for i, s := range f.st.Steps {
			if s.Status != run.StepPending {
				continue
			}
			ready := true
			for _, d := range s.DependsOn {
				ready = ready && f.st.Step(d).Status == run.StepCompleted
			}
			if ready {
				batch = append(batch, i)
			}
		}
		f.mu.Unlock()
		if len(batch) == 0 {
			f.set(func(r *run.Run) { r.Status = run.Completed })
			return f.Snapshot(), nil
		}
		var wg sync.WaitGroup
		failed := false
		for _, i := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				step := &f.p.Steps[i]
				input := map[string]any{}
				for k, v := range step.Input {
					input[k] = v
				}
				f.mu.Lock()
				for k, expr := range step.InputMap {
					ref, _ := pipeline.ParseRef(expr)
					if src := f.st.Step(ref.Step); src != nil && len(ref.Path) == 1 {
						input[k] = src.Result[ref.Path[0]]
					}
				}
				f.mu.Unlock()
				f.set(func(r *run.Run) { r.Steps[i].Status, r.Steps[i].StartedAt = run.StepProcessing, time.Now() })
				res, err := f.exec.Execute(ctx, engine.Request{RunID: f.opts.RunID, Step: step, Input: input, Attempt: 1,
					SetJobID: func(id string) { f.set(func(r *run.Run) { r.Steps[i].JobID = id }) }})
				if ctx.Err() != nil {
					return
				}
				f.set(func(r *run.Run) {
					s := &r.Steps[i]
					s.CompletedAt = time.Now()
					if err != nil {
						failed = true
						s.Status, s.Error = run.StepFailed, err.Error()
						var se *engine.StepError
						if errors.As(err, &se) {
							s.Result = se.Result
						}
						return
					}
					s.Status, s.Result = run.StepCompleted, res
				})
			}()
		}
		wg.Wait()
		if ctx.Err() != nil {
			f.set(func(r *run.Run) { r.Status = run.Cancelled })
			return f.Snapshot(), ctx.Err()
		}
		if failed {
			f.set(func(r *run.Run) {
				r.Status = run.Failed
				for i := range r.Steps {
					for _, d := range r.Steps[i].DependsOn {
						if r.Steps[i].Status == run.StepPending && !r.Step(d).Status.Terminal() {
							r.Steps[i].Status, r.Steps[i].Error, r.Steps[i].CompletedAt = run.StepSkipped, "dependency_failed", time.Now()
						}
					}
				}
			})
			return f.Snapshot(), nil
		}
	}
}
