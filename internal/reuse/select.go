package reuse

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// Selection says which steps of an earlier run a rerun runs again (`pi runs rerun`).
type Selection struct {
	// Steps are the steps to run again with everything downstream of them (--step, by id,
	// or by the id of a matrix step for all its expansions). Empty: the steps that did not
	// succeed (--failed).
	Steps []string
}

// ErrNothingFailed is returned by Select with no Steps for a run whose every step
// succeeded.
var ErrNothingFailed = errors.New("every step succeeded: nothing failed to run again (name steps with --step to run them again)")

// Rerun is what Select decides: the results the rerun reuses and why each other step runs.
type Rerun struct {
	Known map[string]Known
	// Why says, for every step that runs, why (in words: "failed in the earlier run",
	// "selected", "downstream of hero").
	Why map[string]string
}

// Select decides what a rerun of run r of pipeline p (expanded, params applied: the same
// step ids) runs again. With sel.Steps: those steps and everything downstream; without:
// every step that did not succeed (failed, skipped, cancelled or never run) and
// everything downstream. Every other step that succeeded and has a result is reused; one
// that did not (possible with Steps) runs too, with what is downstream of it. A step of p
// that r does not have counts as never run.
func Select(p *pipeline.Pipeline, r *run.Run, sel Selection) (*Rerun, error) {
	g := p.Graph()
	state := make(map[string]*run.Step, len(r.Steps))
	for i := range r.Steps {
		state[r.Steps[i].ID] = &r.Steps[i]
	}
	why := map[string]string{}
	var seeds []int
	seed := func(i int, reason string) {
		if _, ok := why[p.Steps[i].ID]; !ok {
			why[p.Steps[i].ID] = reason
			seeds = append(seeds, i)
		}
	}
	if len(sel.Steps) > 0 {
		for _, name := range sel.Steps {
			idx, err := stepsNamed(p, name)
			if err != nil {
				return nil, err
			}
			for _, i := range idx {
				seed(i, "selected")
			}
		}
	}
	for i := range p.Steps {
		s := state[p.Steps[i].ID]
		if s == nil || !s.Status.Succeeded() || s.Result == nil {
			seed(i, notSucceeded(s))
		}
	}
	if len(seeds) == 0 {
		return nil, ErrNothingFailed
	}
	for _, i := range seeds {
		for _, d := range downstream(g, i) {
			if _, ok := why[p.Steps[d].ID]; !ok {
				why[p.Steps[d].ID] = "downstream of " + p.Steps[i].ID
			}
		}
	}
	known := map[string]Known{}
	for i := range p.Steps {
		id := p.Steps[i].ID
		if _, runs := why[id]; !runs {
			s := state[id]
			known[id] = Known{JobID: s.JobID, Result: s.Result}
		}
	}
	return &Rerun{Known: known, Why: why}, nil
}

// notSucceeded says why a step that did not succeed runs again.
func notSucceeded(s *run.Step) string {
	switch {
	case s == nil || s.Status == run.StepPending || s.Status == run.StepQueued:
		return "never ran"
	case s.Status.Succeeded():
		return "has no result"
	case s.Status == run.StepProcessing:
		return "was still processing"
	}
	return string(s.Status)
}

// stepsNamed finds the steps a --step value names: the step of that id, else every
// expansion of the matrix step of that id.
func stepsNamed(p *pipeline.Pipeline, name string) ([]int, error) {
	var out []int
	for i := range p.Steps {
		if p.Steps[i].ID == name {
			return []int{i}, nil
		}
		if o := p.Steps[i].Origin; o != nil && o.Template == name {
			out = append(out, i)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	ids := make([]string, len(p.Steps))
	for i := range p.Steps {
		ids[i] = p.Steps[i].ID
	}
	return nil, &UnknownStepError{Name: name, Steps: ids}
}

// UnknownStepError is a --step value that names no step.
type UnknownStepError struct {
	Name  string
	Steps []string
}

func (e *UnknownStepError) Error() string {
	list := e.Steps
	more := ""
	if len(list) > 12 {
		list, more = list[:12], fmt.Sprintf(", and %d more", len(e.Steps)-12)
	}
	return fmt.Sprintf("no step %q in this run (its steps: %s%s)", e.Name, strings.Join(list, ", "), more)
}
