package engine

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// step builds a pipeline step; deps is a comma-separated list.
func step(id, deps string) pipeline.Step {
	s := pipeline.Step{ID: id, Action: "campaigns.generate"}
	if deps != "" {
		s.DependsOn = strings.Split(deps, ",")
	}
	return s
}

// recorder collects events, failing the test if the observer is ever called concurrently.
type recorder struct {
	t      *testing.T
	mu     sync.Mutex
	busy   bool
	events []run.Event
}

func (rec *recorder) observe(ev run.Event) {
	rec.mu.Lock()
	if rec.busy {
		rec.t.Errorf("observer called concurrently")
	}
	rec.busy = true
	rec.events = append(rec.events, ev)
	rec.busy = false
	rec.mu.Unlock()
}

// stepEvents returns "status/attempt" for each event of one step, in order.
func (rec *recorder) stepEvents(id string) []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var out []string
	for _, ev := range rec.events {
		if ev.StepID == id {
			out = append(out, ev.Status)
		}
	}
	return out
}

// build is New with p's graph, as a caller builds it.
func build(p *pipeline.Pipeline, exec Executor, opts Options) (*Runner, error) {
	return New(p, pipeline.NewGraph(p), exec, opts)
}

func mustRun(t *testing.T, p *pipeline.Pipeline, exec Executor, opts Options) *run.Run {
	t.Helper()
	if opts.RunID == "" {
		opts.RunID = "run-1"
	}
	r, err := build(p, exec, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	got, err := r.Run(context.Background())
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return got
}

func statuses(r *run.Run) map[string]run.StepStatus {
	m := map[string]run.StepStatus{}
	for _, s := range r.Steps {
		m[s.ID] = s.Status
	}
	return m
}

func TestEagerInputMap(t *testing.T) {
	p := &pipeline.Pipeline{Steps: []pipeline.Step{
		{ID: "extract", Action: "brands.extract", Input: map[string]any{"url": "https://x"}},
		{ID: "gen", Action: "campaigns.generate", DependsOn: []string{"extract"},
			Input: map[string]any{"prompt": "p", "brand_id": "overwritten", "gone": "overwritten"},
			InputMap: map[string]string{
				"brand_id": "$steps.extract.result.brand_id",
				"whole":    "$steps.extract.result",
				"deep":     "$steps.extract.result.nested.k",
				"missing":  "$steps.extract.result.nope.k",
				"scalar":   "$steps.extract.result.brand_id.k",
				"null":     "$steps.extract.result.result_url",
				"gone":     "$steps.extract.result.nope",
			}},
	}}
	// A path that leads nowhere is undefined on the server (the key is absent, even over a
	// value of input); one that leads to null is null, which the schema refuses
	// (src/jobs/pipeline-run-orchestrator.ts, resolveStepInput).
	extractResult := map[string]any{"brand_id": "b1", "nested": map[string]any{"k": 7.0}, "result_url": nil}
	var mu sync.Mutex
	inputs := map[string]map[string]any{}
	exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
		mu.Lock()
		inputs[req.Step.ID] = req.Input
		mu.Unlock()
		req.SetJobID("job-" + req.Step.ID)
		if req.Step.ID == "extract" {
			return extractResult, nil
		}
		return map[string]any{"ok": true}, nil
	})
	rec := &recorder{t: t}
	got := mustRun(t, p, exec, Options{Observer: rec.observe})
	if got.Status != run.Completed {
		t.Fatalf("run status = %s, want completed", got.Status)
	}
	want := map[string]any{"prompt": "p", "brand_id": "b1", "whole": extractResult, "deep": 7.0, "null": nil}
	if !reflect.DeepEqual(inputs["gen"], want) {
		t.Errorf("gen input = %v, want %v", inputs["gen"], want)
	}
	if p.Steps[1].Input["brand_id"] != "overwritten" {
		t.Errorf("the pipeline's input map was mutated: %v", p.Steps[1].Input)
	}
	for _, s := range got.Steps {
		if s.JobID != "job-"+s.ID || s.Attempts != 1 || s.StartedAt.IsZero() || s.CompletedAt.IsZero() {
			t.Errorf("step %s = %+v", s.ID, s)
		}
	}
	if ev := rec.stepEvents("gen"); !reflect.DeepEqual(ev, []string{"queued", "processing", "processing", "completed"}) {
		t.Errorf("gen events = %v", ev)
	}
	if got.Steps[0].ID != "extract" || got.Steps[1].ID != "gen" {
		t.Errorf("steps not in declaration order: %v", got.Steps)
	}
}

func TestMissingInputMapSource(t *testing.T) {
	tests := []struct {
		name, expr, wantErr string
	}{
		{"unknown step", "$steps.ghost.result.x", "missing_input_map_source:ghost"},
		{"failed step", "$steps.bad.result.x", "missing_input_map_source:bad"},
		{"bad expression", "steps.bad.result", "invalid_input_map_expression:steps.bad.result"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// "uses" does not depend on "bad": it runs whether or not "bad" completed.
			p := &pipeline.Pipeline{Steps: []pipeline.Step{
				step("bad", ""), step("ok", ""),
				{ID: "uses", Action: "campaigns.generate", DependsOn: []string{"ok"}, InputMap: map[string]string{"k": tt.expr}},
			}}
			calls := 0
			var mu sync.Mutex
			exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
				mu.Lock()
				calls++
				mu.Unlock()
				if req.Step.ID == "bad" {
					return nil, errors.New("boom")
				}
				return map[string]any{}, nil
			})
			got := mustRun(t, p, exec, Options{DefaultRetry: &pipeline.Retry{MaxAttempts: 3}})
			s := got.Step("uses")
			if s.Status != run.StepFailed || s.Error != tt.wantErr || s.Attempts != 1 {
				t.Errorf("uses = %s %q attempts %d, want failed %q after 1 attempt", s.Status, s.Error, s.Attempts, tt.wantErr)
			}
			if calls != 2 {
				t.Errorf("executor called %d times, want 2 (never for the unresolvable step)", calls)
			}
		})
	}
}

func TestNewRejects(t *testing.T) {
	ok := ExecutorFunc(func(context.Context, Request) (map[string]any, error) { return nil, nil })
	tests := []struct {
		name  string
		steps []pipeline.Step
		runID string
		want  string
	}{
		{"no run id", []pipeline.Step{step("a", "")}, "", "RunID"},
		{"duplicate", []pipeline.Step{step("a", ""), step("a", "")}, "r", `"a" is used twice`},
		{"unknown dep", []pipeline.Step{step("a", "zz")}, "r", `"a" depends on unknown "zz"`},
		{"cycle", []pipeline.Step{step("a", "b"), step("b", "a"), step("c", "")}, "r", "cycle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := build(&pipeline.Pipeline{Steps: tt.steps}, ok, Options{RunID: tt.runID})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestRunTwice(t *testing.T) {
	r, err := build(&pipeline.Pipeline{Steps: []pipeline.Step{step("a", "")}},
		ExecutorFunc(func(context.Context, Request) (map[string]any, error) { return nil, nil }), Options{RunID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Run(context.Background()); err == nil {
		t.Errorf("second Run succeeded, want an error")
	}
}

// TestTimeoutFakeClock runs a step that outlives its timeout on a FakeClock: the attempt is
// cut, counted as transient and retried.
func TestTimeoutFakeClock(t *testing.T) {
	fake := clock.NewFake(time.Unix(0, 0))
	st := step("slow", "")
	st.Timeout = 5 * time.Second
	st.Retry = &pipeline.Retry{MaxAttempts: 2, Backoff: 0}
	exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
		if req.Attempt == 2 {
			return map[string]any{"n": 2}, nil
		}
		<-ctx.Done()
		return nil, ctx.Err()
	})
	r, err := build(&pipeline.Pipeline{Steps: []pipeline.Step{st}}, exec, Options{RunID: "r", Clock: fake})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *run.Run)
	go func() {
		got, _ := r.Run(context.Background())
		done <- got
	}()
	if err := fake.BlockUntil(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	fake.Advance(5 * time.Second)
	if err := fake.BlockUntil(context.Background(), 1); err != nil { // the retry's wait
		t.Fatal(err)
	}
	fake.Advance(MinRetryWait)
	got := <-done
	s := got.Step("slow")
	if s.Status != run.StepCompleted || s.Attempts != 2 || s.Error != "" {
		t.Errorf("slow = %s attempts %d error %q, want completed after 2 attempts", s.Status, s.Attempts, s.Error)
	}
	if d := s.Duration(time.Time{}); d != 5*time.Second+MinRetryWait {
		t.Errorf("duration = %v, want 5s and the retry wait on the fake clock", d)
	}
}
