package run

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// loadFixture decodes the `data` of a real GET /runs/:id answer (copied from shared/fixtures).
func loadFixture(t *testing.T, name string) (*Run, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	var r Run
	if err := json.Unmarshal(env.Data, &r); err != nil {
		t.Fatal(err)
	}
	return &r, env.Data
}

// The model round-trips the server's shape exactly: a run decoded and encoded again is the
// same JSON, nulls and unix-second times included.
func TestRunJSONRoundTrip(t *testing.T) {
	for _, name := range []string{"runs-get-completed.json", "runs-get-failed.json", "runs-get-in-progress.json"} {
		t.Run(name, func(t *testing.T) {
			r, raw := loadFixture(t, name)
			got, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var want, have any
			if err := json.Unmarshal(raw, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(got, &have); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, have) {
				t.Errorf("round trip changed the run:\nwant %s\ngot  %s", compact(raw), got)
			}
		})
	}
}

func compact(b []byte) string {
	var buf bytes.Buffer
	_ = json.Compact(&buf, b)
	return buf.String()
}

func TestFailedFixtureDecodes(t *testing.T) {
	r, _ := loadFixture(t, "runs-get-failed.json")
	if r.Status != Failed || !r.Status.Terminal() {
		t.Fatalf("status = %q", r.Status)
	}
	a, b, c := r.Step("a"), r.Step("b"), r.Step("c")
	if a.Error != "upstream_timeout: simulated failure" || a.JobID == "" || a.StartedAt.IsZero() {
		t.Errorf("a = %+v", a)
	}
	if b.Status != StepPending || b.Status.Terminal() || !b.StartedAt.IsZero() || b.JobID != "" {
		t.Errorf("b = %+v", b)
	}
	if c.Status != StepSkipped || c.Error != "dependency_failed" {
		t.Errorf("c = %+v", c)
	}
	if r.Step("zz") != nil {
		t.Error("Step(unknown) should be nil")
	}
}

func TestDiff(t *testing.T) {
	now := time.Unix(1795874050, 0).UTC()
	prev, _ := loadFixture(t, "runs-get-in-progress.json")
	next, _ := loadFixture(t, "runs-get-completed.json")

	got := Diff(prev, next, now)
	var lines []string
	for _, e := range got {
		lines = append(lines, e.StepID+"="+e.Status)
	}
	want := []string{"generate_base=completed", "localize_fr=completed", "=completed"}
	if !reflect.DeepEqual(lines, want) {
		t.Fatalf("Diff = %v, want %v", lines, want)
	}
	if got[0].Time != next.Step("generate_base").CompletedAt {
		t.Errorf("a finished step's event carries its completion time, got %v", got[0].Time)
	}
	if got[2].Time != now {
		t.Errorf("the run event is stamped now, got %v", got[2].Time)
	}

	// From nothing: pending steps are not news; everything else is.
	first := Diff(nil, prev, now)
	if len(first) == 0 || first[len(first)-1].StepID != "" {
		t.Fatalf("Diff(nil, ...) = %+v", first)
	}
	for _, e := range first {
		if e.Status == string(StepPending) {
			t.Errorf("pending step reported: %+v", e)
		}
	}
	if len(Diff(next, next, now)) != 0 {
		t.Error("no change must give no events")
	}
}

func TestClone(t *testing.T) {
	r, _ := loadFixture(t, "runs-get-completed.json")
	c := r.Clone()
	c.Steps[0].Status = StepFailed
	c.Steps[1].DependsOn[0] = "x"
	if r.Steps[0].Status != StepCompleted || r.Steps[1].DependsOn[0] != "extract_brand" {
		t.Error("Clone shares steps with the original")
	}
}

func TestDuration(t *testing.T) {
	t0 := time.Unix(100, 0)
	cases := []struct {
		name string
		s    Step
		want time.Duration
	}{
		{"never started", Step{}, 0},
		{"running", Step{StartedAt: t0}, 5 * time.Second},
		{"finished", Step{StartedAt: t0, CompletedAt: t0.Add(2 * time.Second)}, 2 * time.Second},
		{"clock skew", Step{StartedAt: t0, CompletedAt: t0.Add(-time.Second)}, 0},
	}
	for _, c := range cases {
		if got := c.s.Duration(t0.Add(5 * time.Second)); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

func TestJobResult(t *testing.T) {
	cases := []struct {
		name, typ, url string
		payload        map[string]any
		want           map[string]any
	}{
		{"extraction", "brand_extraction", "brands/014ffe23-6d93-5c64-8105-56ffe8cc05c9", nil,
			map[string]any{"job_id": "j", "brand_id": "014ffe23-6d93-5c64-8105-56ffe8cc05c9", "result_url": "brands/014ffe23-6d93-5c64-8105-56ffe8cc05c9"}},
		{"extraction without brand url", "brand_extraction", "other/x", nil,
			map[string]any{"job_id": "j", "brand_id": nil, "result_url": "other/x"}},
		{"extraction with no url", "brand_extraction", "", nil,
			map[string]any{"job_id": "j", "brand_id": nil, "result_url": nil}},
		{"ad", "campaign_ad_generation", "campaigns/j", map[string]any{"image_url": "https://cdn/x.png"},
			map[string]any{"job_id": "j", "image_url": "https://cdn/x.png", "result_url": "campaigns/j"}},
		{"ad without image", "campaign_ad_edit", "", map[string]any{},
			map[string]any{"job_id": "j", "image_url": nil, "result_url": nil}},
	}
	for _, c := range cases {
		if got := JobResult("j", c.typ, c.url, c.payload); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if got := FailedJobResult("j", "boom"); !reflect.DeepEqual(got, map[string]any{"job_id": "j", "error_log": "boom"}) {
		t.Errorf("FailedJobResult = %v", got)
	}
}
