package sandbox

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/run"
)

// createRun posts a run and returns its id.
func (c *client) createRun(body any) string {
	c.t.Helper()
	a := c.do("POST", "/api/v1/runs", body)
	if a.status != http.StatusAccepted {
		c.t.Fatalf("POST /runs: %d %s", a.status, a.raw)
	}
	id, _ := a.data()["run_id"].(string)
	return id
}

// waitRun long-polls a run until it ends and returns the answer and the decoded run.
func (c *client) waitRun(id string) (answer, *run.Run) {
	c.t.Helper()
	for {
		a := c.do("GET", "/api/v1/runs/"+id+"?wait_for_completion=true&timeout_seconds=5", nil)
		if a.status != http.StatusOK {
			c.t.Fatalf("GET run: %d %s", a.status, a.raw)
		}
		var r run.Run
		b, _ := json.Marshal(a.data())
		if err := json.Unmarshal(b, &r); err != nil {
			c.t.Fatal(err)
		}
		if r.Status.Terminal() {
			return a, &r
		}
	}
}

// waitState waits, without polling, until the server's copy of the run satisfies cond.
func waitState(t *testing.T, s *Server, id string, cond func(*run.Run) bool) *run.Run {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		s.mu.Lock()
		rec := s.runs[id]
		st, changed := rec.state, rec.changed
		s.mu.Unlock()
		if cond(st) {
			return st
		}
		select {
		case <-changed:
		case <-timeout:
			t.Fatalf("run %s never reached the state; last %+v", id, st)
		}
	}
}

var campaign = map[string]any{
	"steps": []any{
		map[string]any{"id": "extract_brand", "action": "brands.extract", "input": map[string]any{"url": "https://example.com"}},
		map[string]any{"id": "generate_base", "action": "campaigns.generate", "depends_on": []any{"extract_brand"},
			"input": map[string]any{"prompt": "hero ad"}, "input_map": map[string]any{"brand_id": "$steps.extract_brand.result.brand_id"}},
		map[string]any{"id": "localize_fr", "action": "campaigns.localize_ad", "depends_on": []any{"generate_base"},
			"input":     map[string]any{"prompt": "adapt", "target_culture": "fr-FR"},
			"input_map": map[string]any{"source_job_id": "$steps.generate_base.result.job_id"}},
	},
	"metadata": map[string]any{"pipeline": "campaign-launch"},
}

func TestRunCompletes(t *testing.T) {
	_, c := newTestServer(t, Options{})
	a := c.do("POST", "/api/v1/runs", campaign)
	if a.status != http.StatusAccepted || a.body["status"] != "queued" || a.body["object"] != "run" || a.data()["status"] != "pending" {
		t.Fatalf("create: %d %s", a.status, a.raw)
	}
	sameShape(t, "runs-create-202.json", a.body)
	id := a.data()["run_id"].(string)

	got, r := c.waitRun(id)
	if got.body["status"] != "completed" || r.Status != run.Completed {
		t.Fatalf("run: %s", got.raw)
	}
	sameShape(t, "runs-get-completed.json", got.body)
	ex, gen, loc := r.Step("extract_brand"), r.Step("generate_base"), r.Step("localize_fr")
	if ex.Result["brand_id"] == nil || ex.Result["result_url"] != "brands/"+ex.Result["brand_id"].(string) || ex.JobID != ex.Result["job_id"] {
		t.Errorf("extract result %v", ex.Result)
	}
	if gen.Result["image_url"] != c.base+"/files/campaigns/"+OrgID+"/"+gen.JobID+".png" || loc.Result["result_url"] != loc.Result["image_url"] {
		t.Errorf("ad results %v %v", gen.Result, loc.Result)
	}
	if r.OrgID != OrgID || r.Metadata["pipeline"] != "campaign-launch" || r.CreatedAt.IsZero() || gen.StartedAt.IsZero() || gen.CompletedAt.IsZero() {
		t.Errorf("run fields %+v", r)
	}
	if _, ok := got.data()["steps"].([]any)[0].(map[string]any)["attempts"]; ok {
		t.Error("steps carry an attempt count; the server has none")
	}
}

func TestRunFailure(t *testing.T) {
	_, c := newTestServer(t, Options{})
	id := c.createRun(map[string]any{"steps": []any{
		map[string]any{"id": "a", "action": "brands.extract", "input": map[string]any{"url": "https://fail.example"}},
		map[string]any{"id": "b", "action": "campaigns.generate", "depends_on": []any{"a"}, "input": map[string]any{"prompt": "p"}},
		map[string]any{"id": "c", "action": "campaigns.edit", "depends_on": []any{"b"}, "input": map[string]any{"source_job_id": "f027a242-df39-44cb-943a-c9d220ddaebd"}},
		map[string]any{"id": "d", "action": "brands.extract", "input": map[string]any{"url": "https://example.com"}},
	}})
	got, r := c.waitRun(id)
	sameShape(t, "runs-get-failed.json", got.body)
	want := map[string]run.StepStatus{"a": run.StepFailed, "b": run.StepPending, "c": run.StepSkipped, "d": run.StepCompleted}
	for sid, st := range want {
		if r.Step(sid).Status != st {
			t.Errorf("step %s is %s, want %s", sid, r.Step(sid).Status, st)
		}
	}
	a := r.Step("a")
	if r.Status != run.Failed || a.Error != FailLog || a.Result["error_log"] != FailLog || a.Result["job_id"] != a.JobID {
		t.Errorf("failed step %+v", a)
	}
	if c := r.Step("c"); c.Error != "dependency_failed" {
		t.Errorf("skipped step error %q", c.Error)
	}
}

func TestRunStepWithInvalidInputFails(t *testing.T) {
	_, c := newTestServer(t, Options{})
	// Input is not checked at creation, only when the step runs.
	id := c.createRun(map[string]any{"steps": []any{
		map[string]any{"id": "g", "action": "campaigns.generate", "input": map[string]any{"promt": "typo"}, "depends": []any{"x"}},
	}})
	_, r := c.waitRun(id)
	g := r.Step("g")
	want := "[\n  {\n    \"code\": \"invalid_type\",\n    \"expected\": \"string\",\n    \"received\": \"undefined\",\n    \"path\": [\n      \"prompt\"\n    ],\n    \"message\": \"Required\"\n  }\n]"
	if r.Status != run.Failed || g.Status != run.StepFailed || g.JobID != "" || g.Error != want {
		t.Errorf("run %s, step %+v", r.Status, g)
	}
	if len(g.DependsOn) != 0 {
		t.Errorf("unknown key 'depends' was kept: %v", g.DependsOn)
	}
}

// Inside a run the resolved input meets the schema as on the server: a null is refused even
// for an optional input, and an input_map path that leads nowhere leaves the key absent,
// over the value input gave it (src/jobs/pipeline-run-orchestrator.ts, resolveStepInput).
func TestRunStepNullAndUndefinedInputs(t *testing.T) {
	_, c := newTestServer(t, Options{})
	_, r := c.waitRun(c.createRun(map[string]any{"steps": []any{
		map[string]any{"id": "null", "action": "campaigns.generate", "input": map[string]any{"prompt": "p", "brand_id": nil}},
	}}))
	if s := r.Step("null"); s.Status != run.StepFailed || s.JobID != "" || !strings.Contains(s.Error, `"message": "Expected string, received null"`) {
		t.Errorf("null brand_id: %s %s", s.Status, s.Error)
	}
	_, r = c.waitRun(c.createRun(map[string]any{"steps": []any{
		map[string]any{"id": "hero", "action": "campaigns.generate", "input": map[string]any{"prompt": "p"}},
		map[string]any{"id": "gone", "action": "campaigns.generate", "depends_on": []any{"hero"},
			"input":     map[string]any{"prompt": "p"},
			"input_map": map[string]any{"prompt": "$steps.hero.result.nope"}},
	}}))
	if s := r.Step("gone"); s.Status != run.StepFailed || s.JobID != "" || !strings.Contains(s.Error, `"message": "Required"`) {
		t.Errorf("a mapping to no field: %s %q", s.Status, s.Error)
	}
}

// TestRestart stops a server with runs in flight and opens the same database again: every
// run is there, finished ones unchanged, cut-off ones resume (on the jobs they had) and end.
func TestRestart(t *testing.T) {
	db := filepath.Join(t.TempDir(), "sandbox.db")
	open := func(latency time.Duration) (*Server, *client, func()) {
		hs := httptest.NewUnstartedServer(nil)
		s, err := New(Options{APIKey: testKey, DBPath: db, Latency: latency, PublicURL: "http://" + hs.Listener.Addr().String()})
		if err != nil {
			t.Fatal(err)
		}
		hs.Config.Handler = s
		hs.Start()
		return s, &client{t: t, base: hs.URL, key: testKey}, func() {
			s.Drain()
			hs.Close()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
		}
	}

	_, c, stop := open(5 * time.Millisecond)
	done := c.createRun(campaign)
	before, _ := c.waitRun(done)
	stop()

	s, c, stop := open(time.Hour)
	cut := c.createRun(campaign)
	failing := c.createRun(map[string]any{"steps": []any{
		map[string]any{"id": "a", "action": "campaigns.generate", "input": map[string]any{"prompt": "fail please"}},
	}})
	jobs := map[string]string{}
	for _, id := range []string{cut, failing} {
		st := waitState(t, s, id, func(r *run.Run) bool { return r.Steps[0].JobID != "" })
		jobs[id] = st.Steps[0].JobID
	}
	stop()

	_, c, stop = open(5 * time.Millisecond)
	defer stop()
	after := c.do("GET", "/api/v1/runs/"+done, nil)
	if string(mustJSON(t, after.data())) != string(mustJSON(t, before.data())) {
		t.Errorf("finished run changed across the restart:\n%s\n%s", before.raw, after.raw)
	}
	_, r := c.waitRun(cut)
	if r.Status != run.Completed || r.Steps[0].JobID != jobs[cut] {
		t.Errorf("cut-off run: %s, first job %s (was %s)", r.Status, r.Steps[0].JobID, jobs[cut])
	}
	_, r = c.waitRun(failing)
	if r.Status != run.Failed || r.Steps[0].JobID != jobs[failing] || r.Steps[0].Error != FailLog {
		t.Errorf("cut-off failing run: %+v", r)
	}
	j := c.waitJob(jobs[cut], "")
	if j.data()["status"] != string(catalog.JobCompleted) {
		t.Errorf("cut-off job: %s", j.raw)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFinishedObjectsLeaveMemory: past the limit, finished runs and jobs are served from the
// database, unchanged.
func TestFinishedObjectsLeaveMemory(t *testing.T) {
	s, c := newTestServer(t, Options{DBPath: filepath.Join(t.TempDir(), "s.db")})
	s.mu.Lock()
	s.keepRuns, s.keepJobs = 1, 2
	s.mu.Unlock()
	var runs []string
	var before []answer
	for range 4 {
		id := c.createRun(map[string]any{"steps": []any{
			map[string]any{"id": "g", "action": "campaigns.generate", "input": map[string]any{"prompt": "p"}}}})
		a, _ := c.waitRun(id)
		runs, before = append(runs, id), append(before, a)
	}
	job := before[0].data()["steps"].([]any)[0].(map[string]any)["job_id"].(string)
	jobBefore := c.waitJob(job, "")
	// Creations are committed in order: once these two are, the finished ones above are
	// committed too, and the second creation lets them leave memory.
	c.createRun(map[string]any{"steps": []any{map[string]any{"id": "x", "action": "brands.extract", "input": map[string]any{"url": "https://a.test"}}}})
	c.createJob("/api/v1/brands/extract", map[string]any{"url": "https://b.test"})
	s.mu.Lock()
	inRuns, inJobs := len(s.runs), len(s.jobs)
	s.mu.Unlock()
	if inRuns > 1+1 || inJobs > 2+2 {
		t.Errorf("%d runs and %d jobs in memory, want at most 2 and 4", inRuns, inJobs)
	}
	for i, id := range runs {
		if after := c.do("GET", "/api/v1/runs/"+id+"?wait_for_completion=true", nil); string(mustJSON(t, after.data())) != string(mustJSON(t, before[i].data())) {
			t.Errorf("run %s changed:\n%s\n%s", id, before[i].raw, after.raw)
		}
	}
	if after := c.do("GET", "/api/v1/jobs/"+job, nil); string(mustJSON(t, after.data())) != string(mustJSON(t, jobBefore.data())) {
		t.Errorf("job changed:\n%s\n%s", jobBefore.raw, after.raw)
	}
	// An edit of an ad whose job left memory is still accepted.
	c.createJob("/api/v1/campaigns/edit", map[string]any{"source_job_id": job, "prompt": "warmer"})
}

// TestInputMapCheckedOnlyAtRunTime: the server accepts any input_map string and fails the
// step when it runs.
func TestInputMapCheckedOnlyAtRunTime(t *testing.T) {
	_, c := newTestServer(t, Options{})
	tests := []struct {
		name     string
		inputMap map[string]any
		wantErr  string
	}{
		{"bad grammar", map[string]any{"brand_id": "steps.a.result.brand_id"}, "invalid_input_map_expression:steps.a.result.brand_id"},
		// x runs after g (it depends on it), so it has not run when g needs it.
		{"source not finished", map[string]any{"brand_id": "$steps.x.result.brand_id"}, "missing_input_map_source:x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := c.createRun(map[string]any{"steps": []any{
				map[string]any{"id": "a", "action": "brands.extract", "input": map[string]any{"url": "https://a.test"}},
				map[string]any{"id": "g", "action": "campaigns.generate", "depends_on": []any{"a"},
					"input": map[string]any{"prompt": "p"}, "input_map": tt.inputMap},
				map[string]any{"id": "x", "action": "brands.extract", "depends_on": []any{"g"}, "input": map[string]any{"url": "https://x.test"}},
			}})
			_, r := c.waitRun(id)
			if g := r.Step("g"); r.Status != run.Failed || g.Status != run.StepFailed || g.Error != tt.wantErr || g.JobID != "" {
				t.Errorf("run %s, step g %+v", r.Status, g)
			}
		})
	}
}

// Finished runs also leave memory by size: a few runs with megabyte bodies do not stay.
func TestFinishedRunsBoundedByBytes(t *testing.T) {
	s, c := newTestServer(t, Options{DBPath: filepath.Join(t.TempDir(), "s.db")})
	s.mu.Lock()
	s.keepBytes = 3 << 20
	s.mu.Unlock()
	big := strings.Repeat("x", 1<<20)
	var ids []string
	for range 6 {
		id := c.createRun(map[string]any{"metadata": map[string]any{"blob": big}, "steps": []any{
			map[string]any{"id": "b", "action": "brands.extract", "input": map[string]any{"url": "https://a.test"}}}})
		c.waitRun(id)
		ids = append(ids, id)
	}
	c.createRun(map[string]any{"steps": []any{map[string]any{"id": "x", "action": "brands.extract", "input": map[string]any{"url": "https://a.test"}}}})
	c.createRun(map[string]any{"steps": []any{map[string]any{"id": "y", "action": "brands.extract", "input": map[string]any{"url": "https://a.test"}}}})
	s.mu.Lock()
	held, bytes := 0, s.settledBytes
	for _, id := range ids {
		if _, ok := s.runs[id]; ok {
			held++
		}
	}
	s.mu.Unlock()
	if held > 3 || bytes > 3<<20 {
		t.Fatalf("%d finished 1 MiB runs (%d bytes) still in memory, want at most 3 MiB of them", held, bytes)
	}
	if a := c.do("GET", "/api/v1/runs/"+ids[0], nil); a.data()["metadata"].(map[string]any)["blob"] != big {
		t.Fatal("an evicted run is not served from the database unchanged")
	}
}
