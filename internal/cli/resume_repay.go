package cli

import (
	"context"
	"fmt"
	"slices"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/safe"
)

// confirmRepay decides, before a resume starts, about the steps of r whose job creation was
// sent and never answered (a job may exist, run.Step.MayHaveJob) on an endpoint that
// ignores the Idempotency-Key (brands.extract: sending it again makes and charges a second
// job). Such a step runs again only when the person says so: --repay STEP, or y at the
// prompt on a terminal; otherwise the resume is refused (exit 2) before anything is sent.
// A step they accept is resumed without its old key, so it makes a new job. The steps of
// endpoints that honour the key need nothing: the resume sends the same key, and the
// server hands back the job it made.
func confirmRepay(ctx context.Context, o *runOptions, r *run.Run) error {
	var waiting []*run.Step
	for i := range r.Steps {
		s := &r.Steps[i]
		if s.Status == run.StepCompleted || s.Status == run.StepReused || !s.MayHaveJob() {
			continue
		}
		if spec, ok := catalog.Lookup(s.Action); ok && spec.Idempotent {
			continue
		}
		waiting = append(waiting, s)
	}
	if err := checkRepay(o.Repay, r); err != nil {
		return err
	}
	for _, s := range waiting {
		ok := repays(o.Repay, s)
		if !ok && o.IO.CanPrompt() {
			var err error
			q := fmt.Sprintf("step %s (%s): its job creation was sent and never answered (Idempotency-Key %s), so a job may exist and be paid for; %s ignores the key: create (and pay for) another?",
				safe.Text(s.ID), s.Action, s.CreationKey, s.Action)
			if ok, err = o.IO.Confirm(ctx, q); err != nil {
				return SilentExit(ExitInterrupted)
			}
		}
		if !ok {
			return UsageErrorf("step %s (%s): its job creation was sent and never answered (Idempotency-Key %s): a job may exist, and %s ignores the key, so sending it again would make and charge a second job; check the jobs of your account, then resume with --repay %s to pay again (or leave the run as it is)",
				safe.Text(s.ID), s.Action, s.CreationKey, s.Action, safe.Text(s.ID))
		}
		s.CreationKey = "" // accepted: a new job
	}
	return nil
}

// repays reports whether --repay names s (by its id, as the run's table shows it).
func repays(names []string, s *run.Step) bool { return slices.Contains(names, s.ID) }

// checkRepay refuses a --repay that names no step of r.
func checkRepay(names []string, r *run.Run) error {
	for _, n := range names {
		found := false
		for i := range r.Steps {
			if repays([]string{n}, &r.Steps[i]) {
				found = true
				break
			}
		}
		if !found {
			ids := make([]string, len(r.Steps))
			for i := range r.Steps {
				ids[i] = r.Steps[i].ID
			}
			return UsageErrorf("--repay %s: run %s has no such step (the steps: %s)", n, r.ID, listIDs(ids, 12))
		}
	}
	return nil
}
