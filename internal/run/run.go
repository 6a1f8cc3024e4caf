// Package run is the one model of a pipeline run: the engine updates it, the API client fills
// it from GET /api/v1/runs/:id, the store saves it and the renderer draws it.
package run

import (
	"encoding/json"
	"strconv"
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
// local engine produces (Ctrl-C, --timeout), and StepReused, which only pi produces.
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
	// StepReused: pi did not run the step in this run; its result (and JobID) is a job an
	// earlier run paid for, taken from the run being rerun or from the step cache.
	StepReused StepStatus = "reused"
	// NotRun is no status a step is ever in: it is how pi shows a step left pending (or
	// queued) in a finished run, as the server leaves them (PI-API.md, Runs).
	NotRun StepStatus = "not run"
)

// Terminal reports whether a step in this status will change no more in this run.
func (s StepStatus) Terminal() bool {
	switch s {
	case StepCompleted, StepFailed, StepSkipped, StepCancelled, StepReused:
		return true
	}
	return false
}

// Succeeded reports whether a step in this status has a result its dependents can use:
// completed in this run, or reused from an earlier one.
func (s StepStatus) Succeeded() bool { return s == StepCompleted || s == StepReused }

// Run is a pipeline run, in the API's `data` shape when encoded as JSON.
type Run struct {
	ID        string         `json:"id"`
	OrgID     string         `json:"org_id,omitempty"`
	Status    Status         `json:"status"`
	Steps     []Step         `json:"steps"`
	Metadata  map[string]any `json:"metadata"`
	CreatedAt time.Time      `json:"-"`
	UpdatedAt time.Time      `json:"-"`
	// Idle is the time between CreatedAt and now (or the end) when no pi process worked on
	// the run: from the last record of one that ended (failed, cancelled, or killed) to the
	// resume that continued it. The store records it (a run never resumed has none); how
	// long a run took is its span less Idle.
	Idle time.Duration `json:"-"`
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
	// CreationKey is the Idempotency-Key of a job creation the local engine sent for the
	// step and got no answer to (cut off, timed out, killed): a job may exist that nobody
	// knows the id of. It is recorded before the creation is sent and cleared once the
	// answer comes (the job id, or a refusal); a resume sends the same key again.
	CreationKey string `json:"-"`
}

// MayHaveJob reports whether a job may exist for s that its record has no id of: a
// creation was sent and its answer never came.
func (s *Step) MayHaveJob() bool { return s.CreationKey != "" && s.JobID == "" }

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

func timeOf(u *int64) time.Time {
	if u == nil {
		return time.Time{}
	}
	return time.Unix(*u, 0).UTC()
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
	// IdempotencyKey is CreationKey while a job may exist without its id (MayHaveJob).
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// MarshalJSON encodes the step exactly in the API's shape (plus attempts when known).
func (s Step) MarshalJSON() ([]byte, error) {
	return s.appendJSON(make([]byte, 0, 256), appendUnixOrNull)
}

// appendTime appends a time (or null for the zero time) in one of the two encodings: the
// API's unix seconds (appendUnixOrNull) or pi's output's RFC 3339 (appendRFC3339OrNull).
type appendTime func(b []byte, t time.Time) []byte

// appendJSON appends the step's JSON, byte for byte what encoding/json makes of stepJSON
// (with the API's times), without reflection: `pi runs get` of a run of 100,000 steps
// encodes all of them.
func (s *Step) appendJSON(b []byte, at appendTime) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendString(b, s.ID)
	b = append(b, `,"action":`...)
	b = appendString(b, s.Action)
	b = append(b, `,"status":`...)
	b = appendString(b, string(s.Status))
	b = append(b, `,"depends_on":[`...)
	for i, d := range s.DependsOn {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, d)
	}
	b = append(b, `],"job_id":`...)
	b = appendStringOrNull(b, s.JobID)
	b = append(b, `,"result":`...)
	if s.Result == nil {
		b = append(b, "null"...)
	} else {
		res, err := json.Marshal(s.Result)
		if err != nil {
			return nil, err
		}
		b = append(b, res...)
	}
	b = append(b, `,"error":`...)
	b = appendStringOrNull(b, s.Error)
	b = append(b, `,"started_at":`...)
	b = at(b, s.StartedAt)
	b = append(b, `,"completed_at":`...)
	b = at(b, s.CompletedAt)
	if s.Attempts != 0 {
		b = append(b, `,"attempts":`...)
		b = strconv.AppendInt(b, int64(s.Attempts), 10)
	}
	if s.MayHaveJob() {
		b = append(b, `,"idempotency_key":`...)
		b = appendString(b, s.CreationKey)
	}
	return append(b, '}'), nil
}

// appendString appends s as a JSON string as encoding/json writes it: a string of plain
// printable ASCII directly, any other through encoding/json (its escapes of control
// characters, <, >, &, U+2028, U+2029 and invalid UTF-8).
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

func appendStringOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendString(b, s)
}

func appendUnixOrNull(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, t.Unix(), 10)
}

// appendRFC3339OrNull appends t in UTC as an RFC 3339 string with the precision it has:
// whole seconds for a time the server gave, fractions for one pi measured (RFC3339Nano
// drops trailing zeros and never rounds).
func appendRFC3339OrNull(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, "null"...)
	}
	b = append(b, '"')
	b = t.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// UnmarshalJSON decodes the API's step shape, or pi's output of it (OutputJSON).
func (s *Step) UnmarshalJSON(b []byte) error {
	var j struct {
		stepJSON
		StartedAt   jsonTime `json:"started_at"`
		CompletedAt jsonTime `json:"completed_at"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*s = Step{
		ID: j.ID, Action: j.Action, Status: j.Status, DependsOn: j.DependsOn,
		JobID: strOf(j.JobID), Result: j.Result, Error: strOf(j.Error),
		StartedAt: j.StartedAt.t, CompletedAt: j.CompletedAt.t,
		Attempts: j.Attempts, CreationKey: j.IdempotencyKey,
	}
	return nil
}

// jsonTime decodes a time as the API writes it (unix seconds), as pi prints it (an RFC
// 3339 string), or null.
type jsonTime struct{ t time.Time }

func (j *jsonTime) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		j.t = time.Time{}
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return err
		}
		j.t = t.UTC()
	default:
		var u int64
		if err := json.Unmarshal(b, &u); err != nil {
			return err
		}
		j.t = timeOf(&u)
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

// MarshalJSON encodes the run in the API's `data` shape (what encoding/json makes of
// runJSON, built without reflection over the steps): what the sandbox serves and the store
// keeps.
func (r Run) MarshalJSON() ([]byte, error) {
	return r.appendJSON(appendUnixOrNull)
}

// OutputJSON encodes the run as pi prints it (-o json, -o jsonl): the API's `data` shape
// with every *_at field an RFC 3339 string in UTC, at the precision the time has (whole
// seconds from the server, fractions from pi's own clock), or null. One time format for
// every JSON pi prints (docs/output.md).
func (r *Run) OutputJSON() ([]byte, error) {
	return r.appendJSON(appendRFC3339OrNull)
}

func (r *Run) appendJSON(at appendTime) ([]byte, error) {
	b := make([]byte, 0, 256+200*len(r.Steps))
	b = append(b, `{"id":`...)
	b = appendString(b, r.ID)
	if r.OrgID != "" {
		b = append(b, `,"org_id":`...)
		b = appendString(b, r.OrgID)
	}
	b = append(b, `,"status":`...)
	b = appendString(b, string(r.Status))
	b = append(b, `,"steps":[`...)
	for i := range r.Steps {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = r.Steps[i].appendJSON(b, at); err != nil {
			return nil, err
		}
	}
	b = append(b, `],"metadata":`...)
	md, err := json.Marshal(r.Metadata)
	if err != nil {
		return nil, err
	}
	b = append(b, md...)
	b = append(b, `,"created_at":`...)
	b = at(b, r.CreatedAt)
	b = append(b, `,"updated_at":`...)
	b = at(b, r.UpdatedAt)
	return append(b, '}'), nil
}

// UnmarshalJSON decodes the API's `data` shape, or pi's output of it (OutputJSON); unknown
// fields are ignored.
func (r *Run) UnmarshalJSON(b []byte) error {
	var j struct {
		runJSON
		CreatedAt jsonTime `json:"created_at"`
		UpdatedAt jsonTime `json:"updated_at"`
	}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*r = Run{
		ID: j.ID, OrgID: j.OrgID, Status: j.Status, Steps: j.Steps, Metadata: j.Metadata,
		CreatedAt: j.CreatedAt.t, UpdatedAt: j.UpdatedAt.t,
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
