package run

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// referenceRun is the run as encoding/json writes runJSON and stepJSON: the encoding the
// hand-written one must match byte for byte.
func referenceRun(r Run) []byte {
	type refStep stepJSON
	steps := make([]refStep, len(r.Steps))
	for i, s := range r.Steps {
		deps := s.DependsOn
		if deps == nil {
			deps = []string{}
		}
		steps[i] = refStep{ID: s.ID, Action: s.Action, Status: s.Status, DependsOn: deps,
			JobID: strOrNil(s.JobID), Result: s.Result, Error: strOrNil(s.Error),
			StartedAt: unixOrNil(s.StartedAt), CompletedAt: unixOrNil(s.CompletedAt), Attempts: s.Attempts}
		if s.MayHaveJob() {
			steps[i].IdempotencyKey = s.CreationKey
		}
	}
	b, err := json.Marshal(struct {
		ID        string         `json:"id"`
		OrgID     string         `json:"org_id,omitempty"`
		Status    Status         `json:"status"`
		Steps     []refStep      `json:"steps"`
		Metadata  map[string]any `json:"metadata"`
		CreatedAt *int64         `json:"created_at"`
		UpdatedAt *int64         `json:"updated_at"`
	}{r.ID, r.OrgID, r.Status, steps, r.Metadata, unixOrNil(r.CreatedAt), unixOrNil(r.UpdatedAt)})
	if err != nil {
		panic(err)
	}
	return b
}

func TestRunJSONIsEncodingJSONs(t *testing.T) {
	at := time.Unix(1796142247, 0)
	for _, r := range []Run{
		{ID: "empty"},
		{ID: "r1", OrgID: "org", Status: Completed, CreatedAt: at, UpdatedAt: at.Add(time.Second),
			Metadata: map[string]any{"team": "ads", "n": 2.0},
			Steps: []Step{
				{ID: "a", Action: "shell.run", Status: StepCompleted, Attempts: 1, StartedAt: at, CompletedAt: at,
					Result: map[string]any{"exit_code": 0, "stdout": "<b>&\u2028\n\"x\"\\", "stderr": ""}},
				{ID: "b", Action: "brands.extract", Status: StepFailed, DependsOn: []string{"a"}, JobID: "job-1",
					Error: "boom <script>\x01 \xff é"},
				{ID: "ünïcode \"quoted\"", Action: "x", Status: StepPending},
				{ID: "c", Action: "campaigns.generate", Status: StepCancelled, CreationKey: "0b9c-key"},
				{ID: "d", Action: "campaigns.generate", Status: StepCompleted, JobID: "job-2", CreationKey: "not shown: the job is known"},
			}},
	} {
		got, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if want := referenceRun(r); !bytes.Equal(got, want) {
			t.Errorf("run %s:\n got %s\nwant %s", r.ID, got, want)
		}
		var back Run
		if err := json.Unmarshal(got, &back); err != nil || back.ID != r.ID || len(back.Steps) != len(r.Steps) {
			t.Errorf("run %s does not read back: %v", r.ID, err)
		}
		// Indented as pi runs get -o json writes it.
		if _, err := json.MarshalIndent(r, "", "  "); err != nil {
			t.Error(err)
		}
	}
}

// TestOutputJSONTimes: the JSON pi prints has every *_at as an RFC 3339 string in UTC at
// the precision the time has (whole seconds from the server, fractions from pi's clock),
// null when the time is unknown; the API's encoding keeps unix seconds.
func TestOutputJSONTimes(t *testing.T) {
	whole := time.Date(2026, 12, 5, 7, 44, 0, 0, time.UTC)
	fine := time.Date(2026, 12, 5, 7, 44, 1, 548983208, time.FixedZone("CET", 3600))
	r := Run{ID: "r", Status: Completed, CreatedAt: whole, UpdatedAt: fine,
		Steps: []Step{{ID: "a", Status: StepCompleted, StartedAt: whole, CompletedAt: fine.Add(-time.Millisecond * 548)}, {ID: "b", Status: StepPending}}}
	out, err := r.OutputJSON()
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		CreatedAt any `json:"created_at"`
		UpdatedAt any `json:"updated_at"`
		Steps     []struct {
			StartedAt   any `json:"started_at"`
			CompletedAt any `json:"completed_at"`
		} `json:"steps"`
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for name, c := range map[string]struct{ got, want any }{
		"created_at":            {got.CreatedAt, "2026-12-05T07:44:00Z"},
		"updated_at":            {got.UpdatedAt, "2026-12-05T06:44:01.548983208Z"},
		"steps[0].started_at":   {got.Steps[0].StartedAt, "2026-12-05T07:44:00Z"},
		"steps[0].completed_at": {got.Steps[0].CompletedAt, "2026-12-05T06:44:01.000983208Z"},
		"steps[1].started_at":   {got.Steps[1].StartedAt, nil},
	} {
		if c.got != c.want {
			t.Errorf("%s = %#v, want %#v", name, c.got, c.want)
		}
	}
	var back Run
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("pi's output does not read back: %v", err)
	}
	if !back.UpdatedAt.Equal(fine) || !back.Steps[0].StartedAt.Equal(whole) || !back.Steps[1].StartedAt.IsZero() {
		t.Errorf("read back with other times: %+v", back)
	}
	api, _ := json.Marshal(r)
	if !bytes.Contains(api, []byte(`"created_at":1796456640`)) {
		t.Errorf("the API's encoding lost its unix seconds: %s", api)
	}
}

func unixOrNil(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	u := t.Unix()
	return &u
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
