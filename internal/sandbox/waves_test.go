package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// These tests run the engine under the waves scheduler, most inside a synctest bubble:
// time is virtual, so durations are exact and nothing really sleeps.

func wavesRun(t *testing.T, p *pipeline.Pipeline, exec engine.Executor, opts engine.Options) *run.Run {
	t.Helper()
	if opts.RunID == "" {
		opts.RunID = "run-1"
	}
	if opts.Scheduler == nil {
		opts.Scheduler = waves{}
	}
	r, err := engine.New(p, pipeline.NewGraph(p), exec, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	got, err := r.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return got
}

// chainOf reads "id<dep,dep" steps.
func chainOf(steps ...string) *pipeline.Pipeline {
	p := &pipeline.Pipeline{}
	for _, s := range steps {
		id, deps, _ := strings.Cut(s, "<")
		st := pipeline.Step{ID: id, Action: "campaigns.generate"}
		if deps != "" {
			st.DependsOn = strings.Split(deps, ",")
		}
		p.Steps = append(p.Steps, st)
	}
	return p
}

// TestWavesFixture reproduces the real server's runs-get-failed.json: `b` directly behind
// the failed `a` stays pending, `c` behind the unfinished `b` is skipped, the independent
// `d` completes.
func TestWavesFixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/fixtures/runs-get-failed.json")
	if err != nil {
		t.Fatal(err)
	}
	var env struct{ Data run.Run }
	if err := json.Unmarshal(raw, &env); err != nil {
		t.Fatal(err)
	}
	want := env.Data
	p := &pipeline.Pipeline{}
	for _, s := range want.Steps {
		p.Steps = append(p.Steps, pipeline.Step{ID: s.ID, Action: s.Action, DependsOn: s.DependsOn})
	}
	synctest.Test(t, func(t *testing.T) {
		exec := engine.ExecutorFunc(func(ctx context.Context, req engine.Request) (map[string]any, error) {
			job := "job-" + req.Step.ID
			req.SetJobID(job)
			if req.Step.ID == "a" {
				return nil, &engine.StepError{Err: errors.New("upstream_timeout: simulated failure"),
					Result: run.FailedJobResult(job, "upstream_timeout: simulated failure")}
			}
			return run.JobResult(job, "brand_extraction", "brands/e947e0bf", nil), nil
		})
		got := wavesRun(t, p, exec, engine.Options{DefaultRetry: &pipeline.Retry{MaxAttempts: 1}})
		if got.Status != want.Status {
			t.Errorf("run = %s, want %s", got.Status, want.Status)
		}
		for i, w := range want.Steps {
			g := got.Steps[i]
			if g.ID != w.ID || g.Status != w.Status || g.Error != w.Error ||
				(g.JobID == "") != (w.JobID == "") || (g.Result == nil) != (w.Result == nil) ||
				g.StartedAt.IsZero() != w.StartedAt.IsZero() || g.CompletedAt.IsZero() != w.CompletedAt.IsZero() {
				t.Errorf("step %d = %+v\nwant like %+v", i, g, w)
			}
			if len(w.Result) > 0 && !sameKeys(g.Result, w.Result) {
				t.Errorf("step %s result %v, want the keys of %v", w.ID, g.Result, w.Result)
			}
		}
	})
}

func sameKeys(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if _, ok := b[k]; !ok {
			return false
		}
	}
	return true
}

// startLog records when each step's attempts started.
type startLog struct {
	mu     sync.Mutex
	starts map[string][]time.Time
}

func (l *startLog) add(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.starts == nil {
		l.starts = map[string][]time.Time{}
	}
	l.starts[id] = append(l.starts[id], time.Now())
	return len(l.starts[id])
}

// A wave starts only when the whole previous wave ended.
func TestWavesStartWhenTheWaveEnded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := chainOf("long", "c1", "c2<c1", "c3<c2", "after-long<long")
		var log startLog
		exec := engine.ExecutorFunc(func(ctx context.Context, req engine.Request) (map[string]any, error) {
			log.add(req.Step.ID)
			d := time.Second
			if req.Step.ID == "long" {
				d = 10 * time.Second
			}
			<-time.After(d)
			return map[string]any{}, nil
		})
		start := time.Now()
		got := wavesRun(t, p, exec, engine.Options{})
		if got.Status != run.Completed {
			t.Fatalf("run = %s", got.Status)
		}
		want := map[string]time.Duration{"long": 0, "c1": 0, "c2": 10 * time.Second, "after-long": 10 * time.Second, "c3": 11 * time.Second}
		for id, w := range want {
			if s := log.starts[id][0].Sub(start); s != w {
				t.Errorf("%s started at %v, want %v", id, s, w)
			}
		}
	})
}

// skewed is one step "long" beside a chain c1 -> c2 -> ... -> c<n>.
func skewed(n int) *pipeline.Pipeline {
	steps := []string{"long", "c1"}
	for i := 2; i <= n; i++ {
		steps = append(steps, fmt.Sprintf("c%d<c%d", i, i-1))
	}
	return chainOf(steps...)
}

// One long step beside a chain of short ones: pi's eager scheduling finishes when the long
// step does; the server's waves make every link after the first wait for the long step's
// wave. The gap is why --local schedules eagerly.
func TestSkewedMakespan(t *testing.T) {
	const long, short, links = 10 * time.Second, time.Second, 10
	for _, tt := range []struct {
		name  string
		sched engine.Scheduler
		want  time.Duration
	}{{"eager", nil, long}, {"waves", waves{}, long + (links-1)*short}} {
		synctest.Test(t, func(t *testing.T) {
			exec := engine.ExecutorFunc(func(ctx context.Context, req engine.Request) (map[string]any, error) {
				d := short
				if req.Step.ID == "long" {
					d = long
				}
				<-time.After(d)
				return map[string]any{}, nil
			})
			start := time.Now()
			r, err := engine.New(skewed(links), pipeline.NewGraph(skewed(links)), exec, engine.Options{RunID: "r", Scheduler: tt.sched})
			if err != nil {
				t.Fatal(err)
			}
			if res, _ := r.Run(context.Background()); res.Status != run.Completed || time.Since(start) != tt.want {
				t.Errorf("%s: run %s after %v, want completed after %v", tt.name, res.Status, time.Since(start), tt.want)
			}
		})
	}
}

// Random graphs with random durations and failures under the waves: every step starts
// after its dependencies completed, exactly when the server's waves start it; a completed run
// has every step completed; a failed run stops after the failed wave and leaves each step
// that did not run pending (all its dependencies finished) or skipped with
// dependency_failed (one did not), as the server does.
func TestWavesRandomDAGs(t *testing.T) {
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		p := &pipeline.Pipeline{}
		fails := map[string]bool{}
		durations := map[string]time.Duration{}
		n := 1 + rng.IntN(12)
		for i := range n {
			st := pipeline.Step{ID: fmt.Sprint("s", i), Action: "campaigns.generate"}
			for k := rng.IntN(3); k > 0 && i > 0; k-- {
				if d := fmt.Sprint("s", rng.IntN(i)); !contains(st.DependsOn, d) {
					st.DependsOn = append(st.DependsOn, d)
				}
			}
			fails[st.ID] = rng.IntN(8) == 0
			durations[st.ID] = time.Duration(1+rng.IntN(5)) * time.Second
			p.Steps = append(p.Steps, st)
		}
		rng.Shuffle(len(p.Steps), func(i, j int) { p.Steps[i], p.Steps[j] = p.Steps[j], p.Steps[i] })
		synctest.Test(t, func(t *testing.T) { checkWaves(t, p, fails, durations) })
		if t.Failed() {
			t.Fatalf("seed %d: %+v", seed, p.Steps)
		}
	}
}

func checkWaves(t *testing.T, p *pipeline.Pipeline, fails map[string]bool, durations map[string]time.Duration) {
	var mu sync.Mutex
	started, ended := map[string]time.Time{}, map[string]time.Time{}
	exec := engine.ExecutorFunc(func(ctx context.Context, req engine.Request) (map[string]any, error) {
		id := req.Step.ID
		mu.Lock()
		started[id] = time.Now()
		for _, d := range req.Step.DependsOn {
			if _, ok := ended[d]; !ok || fails[d] {
				t.Errorf("%s started before its dependency %s completed", id, d)
			}
		}
		mu.Unlock()
		<-time.After(durations[id])
		mu.Lock()
		ended[id] = time.Now()
		mu.Unlock()
		if fails[id] {
			return nil, errors.New("boom")
		}
		return map[string]any{}, nil
	})
	t0 := time.Now()
	got := wavesRun(t, p, exec, engine.Options{DefaultRetry: &pipeline.Retry{MaxAttempts: 1}})
	// The server's waves, simulated: each wave is the steps whose dependencies completed,
	// all started at once when the previous wave ended, until a wave has a failure.
	want, at := map[string]time.Duration{}, time.Duration(0)
	for failed := false; !failed; {
		var wave []string
		for _, st := range p.Steps {
			if _, ok := want[st.ID]; ok {
				continue
			}
			ready := true
			for _, d := range st.DependsOn {
				_, ok := want[d]
				ready = ready && ok && !fails[d] && want[d]+durations[d] <= at
			}
			if ready {
				wave = append(wave, st.ID)
			}
		}
		if len(wave) == 0 {
			break
		}
		next := at
		for _, id := range wave {
			want[id] = at
			next = max(next, at+durations[id])
			failed = failed || fails[id]
		}
		at = next
	}
	if len(want) != len(started) {
		t.Errorf("%d steps ran, the server's waves run %d (%v)", len(started), len(want), want)
	}
	for id, w := range want {
		if at, ok := started[id]; !ok || at.Sub(t0) != w {
			t.Errorf("%s started at %v, the server's waves start it at %v", id, at.Sub(t0), w)
		}
	}
	anyFailed := false
	for _, s := range got.Steps {
		anyFailed = anyFailed || s.Status == run.StepFailed
	}
	for _, s := range got.Steps {
		_, ran := started[s.ID]
		switch {
		case !anyFailed && (s.Status != run.StepCompleted || got.Status != run.Completed):
			t.Errorf("%s is %s in a run without failure that is %s", s.ID, s.Status, got.Status)
		case s.Status == run.StepPending && (!ran && !depsFinished(got, s)):
			t.Errorf("%s left pending though a dependency never finished", s.ID)
		case s.Status == run.StepSkipped && (ran || s.Error != "dependency_failed" || depsFinished(got, s)):
			t.Errorf("%s skipped (%q) though its dependencies all finished or it ran", s.ID, s.Error)
		}
	}
	if anyFailed && got.Status != run.Failed {
		t.Errorf("run %s with a failed step", got.Status)
	}
}

// depsFinished reports whether every dependency of s ran to completed or failed.
func depsFinished(r *run.Run, s run.Step) bool {
	for _, d := range s.DependsOn {
		if st := r.Step(d).Status; st != run.StepCompleted && st != run.StepFailed {
			return false
		}
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// BenchmarkSkewed runs one long step beside a chain of short ones, under eager scheduling
// and the server's waves, with real (short) durations, and reports eager's makespan over
// the waves'.
func BenchmarkSkewed(b *testing.B) {
	const long, short, chain = 20 * time.Millisecond, 2 * time.Millisecond, 10
	p := skewed(chain)
	exec := engine.ExecutorFunc(func(ctx context.Context, req engine.Request) (map[string]any, error) {
		d := short
		if req.Step.ID == "long" {
			d = long
		}
		time.Sleep(d) // the work being scheduled, not synchronisation
		return nil, nil
	})
	var eager, batches time.Duration
	for b.Loop() {
		for _, sched := range []engine.Scheduler{nil, waves{}} {
			r, err := engine.New(p, pipeline.NewGraph(p), exec, engine.Options{RunID: "skewed", Scheduler: sched})
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			if _, err := r.Run(context.Background()); err != nil {
				b.Fatal(err)
			}
			if sched == nil {
				eager += time.Since(start)
			} else {
				batches += time.Since(start)
			}
		}
	}
	b.ReportMetric(float64(eager)/float64(batches), "eager/batches")
	b.ReportMetric(float64(eager.Milliseconds())/float64(b.N), "eager-ms")
	b.ReportMetric(float64(batches.Milliseconds())/float64(b.N), "batches-ms")
}
