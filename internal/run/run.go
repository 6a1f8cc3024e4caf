// Package run is the one model of a pipeline run: the engine updates it, the API client fills
// it from GET /api/v1/runs/:id, the store saves it and the renderer draws it.
package run

import (
	"encoding/json"
	"time"
)

// Status is a run-level status, spelled as the Pi API spells it.
type Status string

// Run statuses (PI-API.md, Runs).
const (
	Pending    Status = "pending"
	InProgress Status = "in_progress"
	Completed  Status = "completed"
	Failed     Status = "failed"
	Cancelled  Status = "cancelled"
)

// Terminal reports whether a run in this status will change no more.
func (s Status) Terminal() bool { return s == Completed || s == Failed || s == Cancelled }

// StepStatus is a step-level status. The server uses all but StepCancelled, which only the
// local engine produces (Ctrl-C, --timeout).
type StepStatus string

// Step statuses.
const (
	StepPending    StepStatus = "pending"
	StepQueued     StepStatus = "queued"
	StepProcessing StepStatus = "processing"
	StepCompleted  StepStatus = "completed"
	StepFailed     StepStatus = "failed"
	StepSkipped    StepStatus = "skipped"
	StepCancelled  StepStatus = "cancelled"
)

// Terminal reports whether a step in this status will change no more in this run.
func (s StepStatus) Terminal() bool {
	switch s {
	case StepCompleted, StepFailed, StepSkipped, StepCancelled:
		return true
	}
	return false
}

// Run is a pipeline run, in the API's `data` shape when encoded as JSON.
type Run struct {
	ID        string         `json:"id"`
	OrgID     string         `json:"org_id,omitempty"`
	Status    Status         `json:"status"`
	Steps     []Step         `json:"steps"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt time.Time      `json:"-"`
	UpdatedAt time.Time      `json:"-"`
}

// Step is the state of one step of a run. Times are zero until they happen; JSON encodes
// them as the API does (unix seconds, or null).
type Step struct {
	ID          string         `json:"id"`
	Action      string         `json:"action"`
	Status      StepStatus     `json:"status"`
	DependsOn   []string       `json:"depends_on"`
	JobID       string         `json:"-"`
	Result      map[string]any `json:"result"`
	Error       string         `json:"-"`
	StartedAt   time.Time      `json:"-"`
	CompletedAt time.Time      `json:"-"`
	// Attempts is known only to a client that executes the step itself (the local engine);
	// the server reports no attempt count, so it stays 0 for remote runs.
	Attempts int `json:"attempts,omitempty"`
}

// Step returns the step with the given id, or nil.
func (r *Run) Step(id string) *Step {
	for i := range r.Steps {
		if r.Steps[i].ID == id {
			return &r.Steps[i]
		}
	}
	return nil
}

// Clone returns a deep enough copy of r that the caller may keep while r changes: slices
// are copied; results and metadata are shared, since nobody mutates them once set.
func (r *Run) Clone() *Run {
	c := *r
	c.Steps = make([]Step, len(r.Steps))
	copy(c.Steps, r.Steps)
	for i := range c.Steps {
		c.Steps[i].DependsOn = append([]string(nil), r.Steps[i].DependsOn...)
	}
	return &c
}

// Duration is how long the step ran, measured up to now while it is still running, and 0
// when it never started.
func (s *Step) Duration(now time.Time) time.Duration {
	if s.StartedAt.IsZero() {
		return 0
	}
	end := s.CompletedAt
	if end.IsZero() {
		end = now
	}
	if end.Before(s.StartedAt) {
		return 0
	}
	return end.Sub(s.StartedAt)
}

func unixOrNil(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	u := t.Unix()
	return &u
}

func timeOf(u *int64) time.Time {
	if u == nil {
		return time.Time{}
	}
	return time.Unix(*u, 0).UTC()
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func strOf(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type stepJSON struct {
	ID          string         `json:"id"`
	Action      string         `json:"action"`
	Status      StepStatus     `json:"status"`
	DependsOn   []string       `json:"depends_on"`
	JobID       *string        `json:"job_id"`
	Result      map[string]any `json:"result"`
	Error       *string        `json:"error"`
	StartedAt   *int64         `json:"started_at"`
	CompletedAt *int64         `json:"completed_at"`
	Attempts    int            `json:"attempts,omitempty"`
}

// MarshalJSON encodes the step exactly in the API's shape (plus attempts when known).
func (s Step) MarshalJSON() ([]byte, error) {
	deps := s.DependsOn
	if deps == nil {
		deps = []string{}
	}
	return json.Marshal(stepJSON{
		ID: s.ID, Action: s.Action, Status: s.Status, DependsOn: deps,
		JobID: strOrNil(s.JobID), Result: s.Result, Error: strOrNil(s.Error),
		StartedAt: unixOrNil(s.StartedAt), CompletedAt: unixOrNil(s.CompletedAt),
		Attempts: s.Attempts,
	})
}

// UnmarshalJSON decodes the API's step shape.
func (s *Step) UnmarshalJSON(b []byte) error {
	var j stepJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Step{
		ID: j.ID, Action: j.Action, Status: j.Status, DependsOn: j.DependsOn,
		JobID: strOf(j.JobID), Result: j.Result, Error: strOf(j.Error),
		StartedAt: timeOf(j.StartedAt), CompletedAt: timeOf(j.CompletedAt),
		Attempts: j.Attempts,
	}
	return nil
}

type runJSON struct {
	ID        string         `json:"id"`
	OrgID     string         `json:"org_id,omitempty"`
	Status    Status         `json:"status"`
	Steps     []Step         `json:"steps"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt *int64         `json:"created_at"`
	UpdatedAt *int64         `json:"updated_at"`
}

// MarshalJSON encodes the run in the API's `data` shape.
func (r Run) MarshalJSON() ([]byte, error) {
	steps := r.Steps
	if steps == nil {
		steps = []Step{}
	}
	return json.Marshal(runJSON{
		ID: r.ID, OrgID: r.OrgID, Status: r.Status, Steps: steps, Metadata: r.Metadata,
		CreatedAt: unixOrNil(r.CreatedAt), UpdatedAt: unixOrNil(r.UpdatedAt),
	})
}

// UnmarshalJSON decodes the API's `data` shape; unknown fields are ignored.
func (r *Run) UnmarshalJSON(b []byte) error {
	var j runJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Run{
		ID: j.ID, OrgID: j.OrgID, Status: j.Status, Steps: j.Steps, Metadata: j.Metadata,
		CreatedAt: timeOf(j.CreatedAt), UpdatedAt: timeOf(j.UpdatedAt),
	}
	return nil
}

// Event is one transition: of a step when StepID is set, else of the run as a whole.
// Observers receive them in order for each step.
type Event struct {
	Time   time.Time `json:"time"`
	RunID  string    `json:"run_id"`
	StepID string    `json:"step,omitempty"`
	// Status is the new status: a StepStatus for a step event, a Status for a run event.
	Status  string `json:"status"`
	Attempt int    `json:"attempt,omitempty"`
	JobID   string `json:"job_id,omitempty"`
	Error   string `json:"error,omitempty"`
	// RetryIn is set on a failed attempt that will be retried: the wait before the next one.
	RetryIn time.Duration `json:"retry_in,omitempty"`
	// Step, on a step event from the local engine, is the step's whole state after the
	// transition: a copy the receiver may keep. Observers update their own view of the run
	// from it (Run.Apply) instead of copying the run, so an event costs the same in a run of
	// ten steps or of 100,000. Nil on run events and on events made by Diff.
	Step *Step `json:"-"`
	// Index is the step's position in Run.Steps when Step is set.
	Index int `json:"-"`
}

// Apply updates r with what e says changed: the step's state when e carries it (found by
// e.Index, or by id when the index does not match), the run's status for a run event. It
// reports whether r now shows the event (false for a step event without Step, or for a
// step r does not have). It costs the same whatever the size of r, unless r's steps are
// not in the order of the run that made e.
func (r *Run) Apply(e Event) bool {
	if e.StepID == "" {
		if e.Status != "" {
			r.Status = Status(e.Status)
		}
		if !e.Time.IsZero() {
			r.UpdatedAt = e.Time
		}
		return true
	}
	if e.Step == nil {
		return false
	}
	i := e.Index
	if i < 0 || i >= len(r.Steps) || r.Steps[i].ID != e.StepID {
		if i = r.index(e.StepID); i < 0 {
			return false
		}
	}
	r.Steps[i] = *e.Step
	if !e.Time.IsZero() {
		r.UpdatedAt = e.Time
	}
	return true
}

func (r *Run) index(id string) int {
	for i := range r.Steps {
		if r.Steps[i].ID == id {
			return i
		}
	}
	return -1
}
