package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// A dependent of a failed step is reported skipped as soon as the failure is decided, not
// when the rest of the run ends: here "slow" runs until the skip has been observed.
func TestSkippedAtOnce(t *testing.T) {
	p := &pipeline.Pipeline{Steps: []pipeline.Step{step("bad", ""), step("dep", "bad"), step("slow", "")}}
	skipped := make(chan struct{})
	exec := ExecutorFunc(func(ctx context.Context, req Request) (map[string]any, error) {
		switch req.Step.ID {
		case "bad":
			return nil, Permanent(errors.New("boom"))
		case "slow":
			select {
			case <-skipped:
				return map[string]any{}, nil
			case <-time.After(30 * time.Second): // a bound, not a wait: the skip never came
				return nil, Permanent(errors.New("the skip of dep was not reported while slow ran"))
			}
		}
		return nil, nil
	})
	r, err := build(p, exec, Options{RunID: "r", Observer: func(ev run.Event) {
		if ev.StepID == "dep" && ev.Status == string(run.StepSkipped) {
			close(skipped)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Step("slow"); s.Status != run.StepCompleted {
		t.Fatalf("slow = %s %q: the skip was not reported while it ran", s.Status, s.Error)
	}
}
