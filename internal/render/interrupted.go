package render

import "github.com/pi-cli/pi/internal/run"

// Display-only statuses of a local run recorded in progress whose pi process is gone
// (killed, crashed): it will not go on by itself, so it is not shown as running.
const (
	RunInterrupted  run.Status     = "interrupted"
	StepInterrupted run.StepStatus = "interrupted"
)

// Interrupted is r as it is shown once its pi process is known to be gone: the run and its
// running or queued steps interrupted (the others as recorded).
func Interrupted(r *run.Run) *run.Run {
	c := r.Clone()
	c.Status = RunInterrupted
	for i := range c.Steps {
		if s := &c.Steps[i]; s.Status == run.StepProcessing || s.Status == run.StepQueued {
			s.Status = StepInterrupted
			if s.CompletedAt.IsZero() {
				s.CompletedAt = r.UpdatedAt
			}
		}
	}
	return c
}

// ended reports a run that will change no more: terminal, or interrupted.
func ended(r *run.Run) bool { return r.Status.Terminal() || r.Status == RunInterrupted }
