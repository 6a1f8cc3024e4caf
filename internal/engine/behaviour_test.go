package engine

import (
	"context"
	"errors"
	"reflect"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// These tests run inside a synctest bubble: time is virtual and moves only when every
// goroutine of the bubble is blocked, so durations are exact and nothing really sleeps.

// attemptLog records when each attempt of each step ran.
type attemptLog struct {
	mu     sync.Mutex
	starts map[string][]time.Time
}

func (l *attemptLog) add(id string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.starts == nil {
		l.starts = map[string][]time.Time{}
	}
	l.starts[id] = append(l.starts[id], time.Now())
	return len(l.starts[id])
}

func (l *attemptLog) get(id string) []time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]time.Time(nil), l.starts[id]...)
}

func TestRetries(t *testing.T) {
	transient := &StepError{Err: errors.New("503"), Transient: true}
	tests := []struct {
		name         string
		retry        *pipeline.Retry
		errs         []error // the error of attempt i (nil: success); past the end: success
		wantStatus   run.StepStatus
		wantAttempts int
		wantWaits    []time.Duration // the RetryIn of each failed attempt, and the real gap
		wantErr      string
	}{
		{"exponential until success", &pipeline.Retry{MaxAttempts: 5, Backoff: time.Second},
			[]error{transient, transient, transient}, run.StepCompleted, 4,
			[]time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second}, ""},
		{"cap", &pipeline.Retry{MaxAttempts: 5, Backoff: 4 * time.Second},
			[]error{transient, transient, transient, transient}, run.StepCompleted, 5,
			[]time.Duration{2 * time.Second, 2500 * time.Millisecond, 2500 * time.Millisecond, 2500 * time.Millisecond}, ""},
		{"retry-after honoured", &pipeline.Retry{MaxAttempts: 3, Backoff: time.Second},
			[]error{&StepError{Err: errors.New("429"), Transient: true, RetryAfter: 30 * time.Second}}, run.StepCompleted, 2,
			[]time.Duration{30 * time.Second}, ""},
		{"attempts exhausted", &pipeline.Retry{MaxAttempts: 2, Backoff: time.Second},
			[]error{transient, transient}, run.StepFailed, 2, []time.Duration{500 * time.Millisecond}, "503"},
		{"permanent never retried", &pipeline.Retry{MaxAttempts: 5, Backoff: time.Second},
			[]error{errors.New("400 bad input")}, run.StepFailed, 1, nil, "400 bad input"},
		{"default policy: 3 attempts", nil,
			[]error{transient, transient, transient}, run.StepFailed, 3,
			[]time.Duration{500 * time.Millisecond, time.Second}, "503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				st := step("s", "")
				st.Retry = tt.retry
				var log attemptLog
				exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
					if n := log.add(req.Step.ID); n != req.Attempt {
						t.Errorf("attempt %d reported as %d", n, req.Attempt)
					}
					if req.Attempt <= len(tt.errs) && tt.errs[req.Attempt-1] != nil {
						return nil, tt.errs[req.Attempt-1]
					}
					return map[string]any{"ok": true}, nil
				})
				rec := &recorder{t: t}
				r, err := build(&pipeline.Pipeline{Steps: []pipeline.Step{st}}, exec,
					Options{RunID: "r", Observer: rec.observe, MaxBackoff: 5 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				r.rand = func() float64 { return 0.5 }
				got, _ := r.Run(context.Background())
				s := got.Step("s")
				if s.Status != tt.wantStatus || s.Attempts != tt.wantAttempts || s.Error != tt.wantErr {
					t.Errorf("step = %s, %d attempts, error %q; want %s, %d, %q", s.Status, s.Attempts, s.Error, tt.wantStatus, tt.wantAttempts, tt.wantErr)
				}
				var waits []time.Duration
				for _, ev := range rec.events {
					if ev.RetryIn > 0 {
						waits = append(waits, ev.RetryIn)
						if ev.Status != "failed" || ev.Error == "" {
							t.Errorf("retry event %+v: want status failed with the error", ev)
						}
					}
				}
				if !reflect.DeepEqual(waits, tt.wantWaits) {
					t.Errorf("RetryIn = %v, want %v", waits, tt.wantWaits)
				}
				starts := log.get("s")
				for i := 1; i < len(starts); i++ {
					if gap := starts[i].Sub(starts[i-1]); gap != tt.wantWaits[i-1] {
						t.Errorf("gap before attempt %d = %v, want %v", i+1, gap, tt.wantWaits[i-1])
					}
				}
			})
		})
	}
}

func TestTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		st := step("slow", "")
		st.Timeout = 10 * time.Second
		st.Retry = &pipeline.Retry{MaxAttempts: 2, Backoff: 0}
		exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
			select {
			case <-time.After(time.Hour):
				return map[string]any{}, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		})
		start := time.Now()
		got := mustRun(t, &pipeline.Pipeline{Steps: []pipeline.Step{st}}, exec, Options{})
		s := got.Step("slow")
		if s.Status != run.StepFailed || s.Attempts != 2 {
			t.Errorf("slow = %s after %d attempts, want failed after 2 (a timeout is transient)", s.Status, s.Attempts)
		}
		if want := "timeout: attempt 2 ran longer than 10s"; s.Error != want {
			t.Errorf("error = %q, want %q", s.Error, want)
		}
		if el := time.Since(start); el != 20*time.Second+MinRetryWait {
			t.Errorf("run took %v, want 20s (two 10s attempts) and the shortest retry wait", el)
		}
		if got.Status != run.Failed {
			t.Errorf("run = %s, want failed", got.Status)
		}
	})
}

// blockingExec blocks steps named in block until ctx is done, fails those in fail, and
// completes the rest after a second.
func blockingExec(block, fail map[string]bool) ExecutorFunc {
	return func(ctx context.Context, req Request) (map[string]any, error) {
		switch {
		case block[req.Step.ID]:
			<-ctx.Done()
			return nil, ctx.Err()
		case fail[req.Step.ID]:
			return nil, Permanent(errors.New("boom"))
		}
		select {
		case <-time.After(time.Second):
			return map[string]any{"id": req.Step.ID}, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func TestCancel(t *testing.T) {
	tests := []struct {
		name        string
		exec        ExecutorFunc
		concurrency int
		steps       []pipeline.Step
		want        map[string]run.StepStatus
	}{
		{"while queued for a slot",
			blockingExec(map[string]bool{"b1": true, "b2": true}, nil), 1,
			[]pipeline.Step{step("b1", ""), step("b2", ""), step("after", "b2")},
			map[string]run.StepStatus{"b1": run.StepCancelled, "b2": run.StepCancelled, "after": run.StepCancelled}},
		{"while running",
			blockingExec(map[string]bool{"long": true}, nil), 2,
			[]pipeline.Step{step("quick", ""), step("long", ""), step("after", "long"), step("after2", "after,quick")},
			map[string]run.StepStatus{"quick": run.StepCompleted, "long": run.StepCancelled, "after": run.StepCancelled, "after2": run.StepCancelled}},
		{"while backing off",
			func(ctx context.Context, req Request) (map[string]any, error) {
				return nil, &StepError{Err: errors.New("429"), Transient: true, RetryAfter: time.Hour}
			}, 2,
			[]pipeline.Step{step("flaky", ""), step("after", "flaky")},
			map[string]run.StepStatus{"flaky": run.StepCancelled, "after": run.StepCancelled}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				r, err := build(&pipeline.Pipeline{Steps: tt.steps}, tt.exec, Options{RunID: "r", Concurrency: tt.concurrency})
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan *run.Run)
				go func() {
					got, _ := r.Run(ctx)
					done <- got
				}()
				time.Sleep(10 * time.Second) // virtual: lets "quick" finish and the rest block
				synctest.Wait()
				before := time.Now()
				cancel()
				if tt.name == "while queued for a slot" {
					if s := r.Snapshot().Step("b2"); s.Status != run.StepQueued {
						t.Fatalf("b2 is %s before the cancellation, want queued", s.Status)
					}
				}
				got := <-done
				if el := time.Since(before); el != 0 {
					t.Errorf("cancellation took %v of (virtual) time, want none", el)
				}
				if got.Status != run.Cancelled {
					t.Errorf("run = %s, want cancelled", got.Status)
				}
				if s := statuses(got); !reflect.DeepEqual(s, tt.want) {
					t.Errorf("steps = %v, want %v", s, tt.want)
				}
			})
		})
	}
}

func TestFailFast(t *testing.T) {
	steps := []pipeline.Step{step("bad", ""), step("slow", ""), step("bad-child", "bad"), step("bad-grandchild", "bad-child,slow"), step("slow-child", "slow")}
	tests := []struct {
		failFast bool
		want     map[string]run.StepStatus
	}{
		{false, map[string]run.StepStatus{"bad": run.StepFailed, "slow": run.StepCompleted, "bad-child": run.StepSkipped,
			"bad-grandchild": run.StepSkipped, "slow-child": run.StepCompleted}},
		{true, map[string]run.StepStatus{"bad": run.StepFailed, "slow": run.StepCancelled, "bad-child": run.StepSkipped,
			"bad-grandchild": run.StepSkipped, "slow-child": run.StepCancelled}},
	}
	for _, tt := range tests {
		name := "independent branches go on"
		if tt.failFast {
			name = "fail fast"
		}
		t.Run(name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				got := mustRun(t, &pipeline.Pipeline{Steps: steps}, blockingExec(nil, map[string]bool{"bad": true}), Options{FailFast: tt.failFast})
				if got.Status != run.Failed {
					t.Errorf("run = %s, want failed", got.Status)
				}
				if s := statuses(got); !reflect.DeepEqual(s, tt.want) {
					t.Errorf("steps = %v, want %v", s, tt.want)
				}
				for _, id := range []string{"bad-child", "bad-grandchild"} {
					if e := got.Step(id).Error; e != "dependency_failed:bad" {
						t.Errorf("%s error = %q, want dependency_failed:bad", id, e)
					}
				}
			})
		})
	}
}

func TestResume(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeline.Pipeline{Steps: []pipeline.Step{
			step("a", ""), step("b", "a"), step("c", "b"), step("d", ""),
			{ID: "e", Action: "campaigns.edit", DependsOn: []string{"a"}, InputMap: map[string]string{"x": "$steps.a.result.v"}},
		}}
		aResult := map[string]any{"v": "from-first-run"}
		earlier := &run.Run{ID: "old", Status: run.Failed, Steps: []run.Step{
			{ID: "a", Action: "campaigns.generate", Status: run.StepCompleted, Result: aResult, Attempts: 2, JobID: "job-a"},
			{ID: "b", Action: "campaigns.generate", Status: run.StepFailed, Error: "boom", Attempts: 3},
			{ID: "c", Action: "campaigns.generate", Status: run.StepSkipped, Error: "dependency_failed:b"},
			{ID: "d", Action: "campaigns.generate", Status: run.StepCancelled},
			{ID: "e", Action: "campaigns.edit", Status: run.StepPending},
		}}
		var mu sync.Mutex
		ran := map[string]map[string]any{}
		exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
			mu.Lock()
			ran[req.Step.ID] = req.Input
			mu.Unlock()
			return map[string]any{"id": req.Step.ID}, nil
		})
		rec := &recorder{t: t}
		got := mustRun(t, p, exec, Options{RunID: "new", Resume: earlier, Observer: rec.observe})
		if got.Status != run.Completed || got.ID != "new" {
			t.Fatalf("run %s = %s, want new completed", got.ID, got.Status)
		}
		if _, again := ran["a"]; again || len(ran) != 4 {
			t.Errorf("executed %v, want b, c, d, e only", ran)
		}
		a := got.Step("a")
		if !reflect.DeepEqual(a.Result, aResult) || a.Attempts != 2 || a.JobID != "job-a" {
			t.Errorf("a = %+v, want the earlier result and attempts", a)
		}
		if ran["e"]["x"] != "from-first-run" {
			t.Errorf("e input = %v, want x from a's earlier result", ran["e"])
		}
		for _, id := range []string{"b", "c", "d"} {
			if s := got.Step(id); s.Status != run.StepCompleted || s.Attempts != 1 || s.Error != "" {
				t.Errorf("%s = %+v, want completed after 1 fresh attempt", id, s)
			}
		}
		if ev := rec.stepEvents("a"); len(ev) != 0 {
			t.Errorf("resumed step a reported %v, want no events", ev)
		}
	})
}

// TestSkewedMakespan is the case for --local: one long step beside a chain of short ones.
// Eager finishes when the long step does (the server's waves make every link of the chain
// after the first wait for the long step's wave: internal/sandbox's TestSkewedMakespan).
func TestSkewedMakespan(t *testing.T) {
	const long, short, links = 10 * time.Second, time.Second, 10
	synctest.Test(t, func(t *testing.T) {
		exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
			d := short
			if req.Step.ID == "long" {
				d = long
			}
			<-time.After(d)
			return map[string]any{}, nil
		})
		start := time.Now()
		res := mustRun(t, skewed(links), exec, Options{})
		if got := time.Since(start); res.Status != run.Completed || got != long {
			t.Errorf("run %s after %v, want completed after %v", res.Status, got, long)
		}
	})
}

func TestExecutorPanic(t *testing.T) {
	exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
		panic("boom")
	})
	got := mustRun(t, &pipeline.Pipeline{Steps: []pipeline.Step{step("p", ""), step("q", "p")}}, exec, Options{})
	if s := got.Step("p"); s.Status != run.StepFailed || s.Attempts != 1 || s.Error != "executor panicked: boom" {
		t.Errorf("p = %s after %d attempts, error %q; want failed once with the panic", s.Status, s.Attempts, s.Error)
	}
	if s := got.Step("q"); s.Status != run.StepSkipped || s.Error != "dependency_failed:p" {
		t.Errorf("q = %s %q, want skipped", s.Status, s.Error)
	}
}

// A resumed step that was interrupted while its job ran (processing, or cancelled by Ctrl-C)
// is handed that job on its first attempt only; a failed step's job is not handed back.
func TestResumeHandsBackInterruptedJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeline.Pipeline{Steps: []pipeline.Step{
			step("running", ""), step("stopped", ""), step("failed", ""), step("retried", ""),
		}}
		for i := range p.Steps {
			p.Steps[i].Retry = &pipeline.Retry{MaxAttempts: 2, Backoff: time.Millisecond}
		}
		earlier := &run.Run{ID: "old", Status: run.InProgress, Steps: []run.Step{
			{ID: "running", Action: "campaigns.generate", Status: run.StepProcessing, JobID: "job-running"},
			{ID: "stopped", Action: "campaigns.generate", Status: run.StepCancelled, JobID: "job-stopped"},
			{ID: "failed", Action: "campaigns.generate", Status: run.StepFailed, JobID: "job-failed"},
			{ID: "retried", Action: "campaigns.generate", Status: run.StepProcessing, JobID: "job-retried"},
		}}
		var mu sync.Mutex
		got := map[string][]string{}
		exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
			mu.Lock()
			got[req.Step.ID] = append(got[req.Step.ID], req.ResumeJobID)
			mu.Unlock()
			if req.Step.ID == "retried" && req.Attempt == 1 {
				return nil, Transient(errors.New("the job failed"))
			}
			return map[string]any{}, nil
		})
		mustRun(t, p, exec, Options{RunID: "old", Resume: earlier})
		want := map[string][]string{
			"running": {"job-running"}, "stopped": {"job-stopped"}, "failed": {""}, "retried": {"job-retried", ""},
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("ResumeJobID per attempt = %v, want %v", got, want)
		}
	})
}

// A run continued by a resume began when it was created and keeps the idle time the store
// recorded, so its duration is the time pi worked on it; a new run that reuses an earlier
// one's steps (a rerun: another id) begins now.
func TestResumeKeepsCreationAndIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := &pipeline.Pipeline{Steps: []pipeline.Step{step("a", ""), step("b", "a")}}
		created := time.Now().Add(-time.Hour)
		earlier := &run.Run{ID: "old", Status: run.Failed, CreatedAt: created, Idle: 40 * time.Minute, Steps: []run.Step{
			{ID: "a", Action: "campaigns.generate", Status: run.StepCompleted},
			{ID: "b", Action: "campaigns.generate", Status: run.StepFailed},
		}}
		exec := ExecutorFunc(func(context.Context, Request) (map[string]any, error) { return map[string]any{}, nil })
		got := mustRun(t, p, exec, Options{RunID: "old", Resume: earlier})
		if !got.CreatedAt.Equal(created) || got.Idle != 40*time.Minute {
			t.Errorf("resumed: created %v, idle %v; want %v and 40m", got.CreatedAt, got.Idle, created)
		}
		other := mustRun(t, p, exec, Options{RunID: "new", Resume: earlier})
		if other.CreatedAt.Equal(created) || other.Idle != 0 {
			t.Errorf("another run: created %v, idle %v; want now and 0", other.CreatedAt, other.Idle)
		}
	})
}
