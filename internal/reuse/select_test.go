package reuse

import (
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// fanout is the seed pipeline with a second localization and a matrix of edits.
const fanout = seed + `
  - id: localize_de
    action: campaigns.localize_ad
    depends_on: [generate_base]
    input: { prompt: Keep it, target_culture: German }
    input_map: { source_job_id: $steps.generate_base.result.job_id }
  - id: edit
    action: campaigns.edit
    depends_on: [generate_base]
    matrix: { tone: [warm, cold] }
    input: { prompt: "make it ${matrix.tone}" }
    input_map: { source_job_id: $steps.generate_base.result.job_id }
`

func runOf(status map[string]run.StepStatus, order ...string) *run.Run {
	r := &run.Run{ID: "earlier", Status: run.Failed}
	for n, id := range order {
		st, ok := status[id]
		if !ok {
			st = run.StepCompleted
		}
		s := run.Step{ID: id, Status: st}
		if st.Succeeded() {
			k := ad(fmt.Sprintf("%08x-0000-4000-8000-000000000000", n))
			if id == "extract_brand" {
				k = brand(brandID)
			}
			s.JobID, s.Result = k.JobID, k.Result
		}
		r.Steps = append(r.Steps, s)
	}
	return r
}

func TestSelect(t *testing.T) {
	p := load(t, fanout)
	all := ids(p)
	for _, tt := range []struct {
		name   string
		status map[string]run.StepStatus
		steps  []string
		runs   map[string]string
		err    string
	}{{
		name:   "failed at its last step",
		status: map[string]run.StepStatus{"localize_fr": run.StepFailed},
		runs:   map[string]string{"localize_fr": "failed"},
	}, {
		name:   "a failure, what it skipped and what never ran",
		status: map[string]run.StepStatus{"generate_base": run.StepFailed, "localize_fr": run.StepSkipped, "localize_de": run.StepPending, "edit-warm": run.StepSkipped, "edit-cold": run.StepPending},
		runs: map[string]string{"generate_base": "failed", "localize_fr": "skipped", "localize_de": "never ran",
			"edit-warm": "skipped", "edit-cold": "never ran"},
	}, {
		name:   "a reused step of an earlier rerun is reused again",
		status: map[string]run.StepStatus{"extract_brand": run.StepReused, "localize_de": run.StepCancelled},
		runs:   map[string]string{"localize_de": "cancelled"},
	}, {
		name:  "a step and what is below it",
		steps: []string{"generate_base"},
		runs: map[string]string{"generate_base": "selected", "localize_fr": "downstream of generate_base",
			"localize_de": "downstream of generate_base", "edit-warm": "downstream of generate_base", "edit-cold": "downstream of generate_base"},
	}, {
		name:  "a matrix step by its id",
		steps: []string{"edit", "localize_de"},
		runs:  map[string]string{"edit-warm": "selected", "edit-cold": "selected", "localize_de": "selected"},
	}, {
		name:   "a selected step, and a failed one elsewhere",
		status: map[string]run.StepStatus{"localize_de": run.StepFailed},
		steps:  []string{"localize_fr"},
		runs:   map[string]string{"localize_fr": "selected", "localize_de": "failed"},
	}, {
		name: "nothing failed",
		err:  "nothing failed",
	}, {
		name:  "an unknown step",
		steps: []string{"localise_fr"},
		err:   `no step "localise_fr" in this run (its steps: extract_brand, generate_base, localize_fr, localize_de, edit-warm, edit-cold)`,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			r := runOf(tt.status, all...)
			got, err := Select(p, r, Selection{Steps: tt.steps})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Why, tt.runs) {
				t.Errorf("runs %v\nwant %v", got.Why, tt.runs)
			}
			for _, id := range all {
				_, runs := tt.runs[id]
				if k, ok := got.Known[id]; ok == runs || ok && k.JobID != r.Step(id).JobID {
					t.Errorf("%s: known %v (%v), runs %v", id, ok, k, runs)
				}
			}
			// What Select keeps, Rewrite reuses: the rerun runs exactly the selection.
			pl := Rewrite(p, got.Known)
			if runIDs := ids(pl.Pipeline); !reflect.DeepEqual(runIDs, order(all, tt.runs)) || len(pl.Forced) != 0 {
				t.Errorf("rewritten to %v (forced %v)", runIDs, pl.Forced)
			}
		})
	}
	// A step of the pipeline the run does not have never ran.
	got, err := Select(p, runOf(nil, all[:3]...), Selection{})
	if err != nil || !reflect.DeepEqual(slices.Sorted(maps.Keys(got.Why)), []string{"edit-cold", "edit-warm", "localize_de"}) {
		t.Errorf("a shorter run: %v, %v", got, err)
	}
	if _, err := Select(p, runOf(nil, all...), Selection{}); !errors.Is(err, ErrNothingFailed) {
		t.Errorf("err %v", err)
	}
}

func order(all []string, set map[string]string) []string {
	var out []string
	for _, id := range all {
		if _, ok := set[id]; ok {
			out = append(out, id)
		}
	}
	return out
}
