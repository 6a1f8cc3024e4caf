package sandbox

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/run"
)

func errorBody(t *testing.T, a answer) map[string]any {
	t.Helper()
	e, ok := a.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("not an error: %d %s", a.status, a.raw)
	}
	return e
}

// An endpoint's 400 carries param and zod's issues, as the server's fixture does.
func TestEndpointErrorsCarryParamAndIssues(t *testing.T) {
	_, c := newTestServer(t, Options{})
	a := c.do("POST", "/api/v1/campaigns/generate", map[string]any{"prompt": "p", "output": map[string]any{"resolution": "8K"}})
	if a.status != http.StatusBadRequest || a.errCode(t) != "invalid_request_body" {
		t.Fatalf("got %d %s", a.status, a.raw)
	}
	sameShape(t, "error-400-invalid-request-body.json", a.body)
	want := loadFixture(t, "error-400-invalid-request-body.json")["error"].(map[string]any)
	got := errorBody(t, a)
	for _, k := range []string{"message", "param"} {
		if got[k] != want[k] {
			t.Errorf("%s = %v, want %v", k, got[k], want[k])
		}
	}
	gi, _ := json.Marshal(got["issues"])
	wi, _ := json.Marshal(want["issues"])
	if !bytes.Equal(gi, wi) {
		t.Errorf("issues\n%s\nwant\n%s", gi, wi)
	}

	tests := []struct {
		path  string
		body  map[string]any
		param string
	}{
		{"/api/v1/campaigns/generate", map[string]any{"prompt": "p", "reference_images": []any{"https://x.test/a.png", ""}}, "reference_images.1"},
		{"/api/v1/campaigns/generate", map[string]any{"prompt": "p", "metadata": map[string]any{"batch": 3}}, "metadata.batch"},
		{"/api/v1/campaigns/edit", map[string]any{"source_job_id": "8177a096-0e0a-4806-a856-80d06bccd834"}, "prompt"},
		{"/api/v1/campaigns/localize-ad", map[string]any{"prompt": "p", "target_culture": "fr"}, "source_image_url"},
		{"/api/v1/runs", map[string]any{"steps": []any{map[string]any{"id": " ", "action": "brands.extract"}}}, "steps.0.id"},
		{"/api/v1/runs", map[string]any{"steps": []any{map[string]any{"id": "a", "action": "shell.run"}}}, "steps.0.action"},
		{"/api/v1/runs", map[string]any{"steps": []any{}}, "steps"},
		{"/api/v1/runs", map[string]any{"steps": []any{map[string]any{"id": "a", "action": "brands.extract", "depends_on": []any{1}}}}, "steps.0.depends_on.0"},
	}
	for _, tt := range tests {
		a := c.do("POST", tt.path, tt.body)
		e := errorBody(t, a)
		issues, _ := e["issues"].([]any)
		if a.status != 400 || e["code"] != "invalid_request_body" || e["param"] != tt.param || len(issues) == 0 ||
			issues[0].(map[string]any)["message"] != e["message"] {
			t.Errorf("POST %s %v: %d %s, want param %s", tt.path, tt.body, a.status, a.raw, tt.param)
		}
	}

	// brands/extract answers a bad body with apiError: the first issue's message only, no
	// param, no issues (src/app/api/v1/brands/extract/route.ts).
	for _, tt := range []struct {
		body    any
		message string
	}{
		{map[string]any{"location": map[string]any{"country": "FRA"}}, "String must contain exactly 2 character(s)"},
		{map[string]any{}, "At least one input is required: url, logoBase64, or imagesBase64."},
		{map[string]any{"url": nil}, "Expected string, received null"},
		{[]any{}, "Expected object, received array"},
	} {
		a := c.do("POST", "/api/v1/brands/extract", tt.body)
		e := errorBody(t, a)
		_, hasParam := e["param"]
		_, hasIssues := e["issues"]
		if a.status != 400 || e["code"] != "invalid_request_body" || e["message"] != tt.message || hasParam || hasIssues {
			t.Errorf("POST /api/v1/brands/extract %v: %d %s, want only the message %q", tt.body, a.status, a.raw, tt.message)
		}
	}
	// A body that is not an object: zod's issue at the empty path, so no param
	// (src/lib/api-response.ts sends param only for a non-empty path).
	for _, path := range []string{"/api/v1/campaigns/generate", "/api/v1/runs"} {
		a := c.do("POST", path, `"text"`)
		e := errorBody(t, a)
		_, hasParam := e["param"]
		if a.status != 400 || e["message"] != "Expected object, received string" || hasParam || e["issues"] == nil {
			t.Errorf("POST %s \"text\": %d %s", path, a.status, a.raw)
		}
	}
}

// The run answers with the trimmed ids and dependencies, as the server keeps them.
func TestRunTrimsIDs(t *testing.T) {
	_, c := newTestServer(t, Options{})
	id := c.createRun(map[string]any{"steps": []any{
		map[string]any{"id": " brand ", "action": "brands.extract", "input": map[string]any{"url": "https://x.test"}},
		map[string]any{"id": "hero", "action": "campaigns.generate", "depends_on": []any{" brand"}, "input": map[string]any{"prompt": "p"},
			"input_map": map[string]any{"brand_id": "$steps.brand.result.brand_id"}},
	}})
	_, r := c.waitRun(id)
	if r.Status != run.Completed || r.Steps[0].ID != "brand" || r.Steps[1].DependsOn[0] != "brand" || r.Step("hero").Result["image_url"] == nil {
		t.Errorf("run %+v", r)
	}
}

func TestSourceJobChecksOnTheEndpoints(t *testing.T) {
	s, c := newTestServer(t, Options{})
	gen := c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "p"})
	c.waitJob(gen, "")
	brand := c.createJob("/api/v1/brands/extract", map[string]any{"url": "https://x.test"})
	c.waitJob(brand, "")
	loc := c.createJob("/api/v1/campaigns/localize-ad", map[string]any{"prompt": "p", "target_culture": "fr", "source_job_id": gen})
	c.waitJob(loc, "")
	failed := c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "this will fail"})
	c.waitJob(failed, "")
	// a completed ad job without an image: only a broken worker makes one
	s.mu.Lock()
	noImage := &jobRec{job: job{ID: "2b7e3a3c-3a57-4c52-9b2e-8d0c7a1e5f40", Type: catalog.JobAdGeneration, Status: catalog.JobCompleted,
		Payload: map[string]any{"phase": string(catalog.JobCompleted)}}, changed: make(chan struct{})}
	s.jobs[noImage.ID] = noImage
	s.mu.Unlock()
	slow, sc := newTestServer(t, Options{Latency: time.Hour})
	_ = slow
	queued := sc.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "p"})

	tests := []struct {
		c      *client
		path   string
		source string
		status int
		code   string
	}{
		{c, "/api/v1/campaigns/edit", gen, 202, ""},
		{c, "/api/v1/campaigns/edit", "f027a242-df39-44cb-943a-c9d220ddaebd", 404, sourceNotFound},
		{c, "/api/v1/campaigns/edit", brand, 400, sourceTypeInvalid},
		{c, "/api/v1/campaigns/localize-ad", loc, 400, sourceTypeInvalid},
		{c, "/api/v1/campaigns/edit", failed, 400, sourceNotCompleted},
		{c, "/api/v1/campaigns/edit", noImage.ID, 400, sourceMissingImage},
		{sc, "/api/v1/campaigns/edit", queued, 400, sourceNotCompleted},
	}
	for _, tt := range tests {
		body := map[string]any{"prompt": "p", "source_job_id": tt.source, "target_culture": "fr"}
		a := tt.c.do("POST", tt.path, body)
		if a.status != tt.status {
			t.Errorf("%s from %s: %d %s, want %d %s", tt.path, tt.source, a.status, a.raw, tt.status, tt.code)
			continue
		}
		if tt.code != "" {
			// The routes send these with apiError: no param (src/lib/campaigns/queue-edit.ts).
			if e := errorBody(t, a); e["code"] != tt.code || e["param"] != nil {
				t.Errorf("%s from %s: %s, want %s", tt.path, tt.source, a.raw, tt.code)
			}
		}
	}
}

// Inside a run the endpoint checks are skipped: the worker fails the job with a
// failure_code and no error log, and the step says only child_job_failed.
func TestBadSourceInsideARun(t *testing.T) {
	_, c := newTestServer(t, Options{})
	id := c.createRun(map[string]any{"steps": []any{
		map[string]any{"id": "hero", "action": "campaigns.generate", "input": map[string]any{"prompt": "p"}},
		map[string]any{"id": "fr", "action": "campaigns.localize_ad", "depends_on": []any{"hero"},
			"input": map[string]any{"prompt": "p", "target_culture": "fr"}, "input_map": map[string]any{"source_job_id": "$steps.hero.result.job_id"}},
		map[string]any{"id": "tweak", "action": "campaigns.edit", "depends_on": []any{"fr"},
			"input": map[string]any{"prompt": "p"}, "input_map": map[string]any{"source_job_id": "$steps.fr.result.job_id"}},
	}})
	_, r := c.waitRun(id)
	tw := r.Step("tweak")
	if r.Status != run.Failed || tw.Status != run.StepFailed || tw.Error != "child_job_failed" || tw.JobID == "" ||
		tw.Result["error_log"] != nil || tw.Result["job_id"] != tw.JobID {
		t.Fatalf("run %s, tweak %+v", r.Status, tw)
	}
	j := c.waitJob(tw.JobID, "")
	sameShape(t, "jobs-get-failed-source-type.json", j.body)
	d := j.data()
	if d["type"] != catalog.JobAdEdit || d["status"] != string(catalog.JobFailed) || d["error_log"] != nil ||
		d["payload"].(map[string]any)["failure_code"] != sourceTypeInvalid {
		t.Errorf("job %s", j.raw)
	}
}

func TestIdempotencyKey(t *testing.T) {
	_, c := newTestServer(t, Options{})
	post := func(path, key string, body map[string]any) answer {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", c.base+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+c.key)
		req.Header.Set("Content-Type", "application/json")
		if key != "" {
			req.Header.Set("Idempotency-Key", key)
		}
		return c.send(req)
	}
	jobOf := func(a answer) string {
		t.Helper()
		if a.status != http.StatusAccepted {
			t.Fatalf("got %d %s", a.status, a.raw)
		}
		return a.data()["job_id"].(string)
	}
	for _, path := range []string{"/api/v1/campaigns/generate", "/api/v1/campaigns/edit", "/api/v1/campaigns/localize-ad"} {
		gen := jobOf(post("/api/v1/campaigns/generate", "", map[string]any{"prompt": "source"}))
		c.waitJob(gen, "")
		body := map[string]any{"prompt": "p", "target_culture": "fr", "source_job_id": gen}
		key := "k-" + path
		first := post(path, key, body)
		again := post(path, key, map[string]any{"source_job_id": gen, "target_culture": "fr", "prompt": "p"}) // same object
		if jobOf(first) != jobOf(again) || again.header.Get("X-Idempotency-Replayed") != "true" || first.header.Get("X-Idempotency-Replayed") != "" {
			t.Errorf("%s: replay %s / %s (%v)", path, first.raw, again.raw, again.header)
		}
		other := post(path, key, map[string]any{"prompt": "other", "target_culture": "fr", "source_job_id": gen})
		if other.status != http.StatusConflict || other.errCode(t) != "idempotency_key_mismatch" || errorBody(t, other)["param"] != "Idempotency-Key" {
			t.Errorf("%s: another body: %d %s", path, other.status, other.raw)
		}
		sameShape(t, "error-409-idempotency-key-mismatch.json", other.body)
		one := jobOf(post(path, "", body))
		if two := jobOf(post(path, "", body)); one == two {
			t.Errorf("%s: without a key, two posts gave one job", path)
		}
	}
	// an invalid body does not take the key
	if a := post("/api/v1/campaigns/generate", "k-bad", map[string]any{}); a.status != 400 {
		t.Fatalf("got %s", a.raw)
	}
	jobOf(post("/api/v1/campaigns/generate", "k-bad", map[string]any{"prompt": "now valid"}))
	// brands/extract ignores the key: a retried POST creates a second job
	b := map[string]any{"url": "https://x.test"}
	if x, y := post("/api/v1/brands/extract", "k-brand", b), post("/api/v1/brands/extract", "k-brand", b); jobOf(x) == jobOf(y) || y.header.Get("X-Idempotency-Replayed") != "" {
		t.Errorf("brands/extract replayed: %s %s", x.raw, y.raw)
	}
}

// validInput is an input the contract of a accepts, made from the catalog alone: each
// required input and the first of each group, with a value of its kind.
func validInput(t *testing.T, a *catalog.Action) map[string]any {
	t.Helper()
	in := map[string]any{}
	for _, x := range a.Inputs {
		if g, grouped := a.InGroup(x.Name); !x.Required && (!grouped || g.Inputs[0] != x.Name) {
			continue
		}
		switch x.Kind {
		case catalog.UUID:
			in[x.Name] = "8177a096-0e0a-4806-a856-80d06bccd834"
		case catalog.URL, catalog.HTTPURL, catalog.Image:
			in[x.Name] = "https://x.test/a.png"
		case catalog.Enum:
			in[x.Name] = x.Enum[0]
		case catalog.List:
			in[x.Name] = []any{"https://x.test/a.png"}
		case catalog.Object:
			in[x.Name] = map[string]any{}
		case catalog.Integer:
			in[x.Name] = max(x.Min, 1)
		default:
			in[x.Name] = strings.Repeat("p", max(x.Min, 1))
		}
	}
	if issues := catalog.Check(a.Name, in); len(issues) > 0 {
		t.Fatalf("%s: the made-up input %v is refused: %v", a.Name, in, issues)
	}
	return in
}

// TestSandboxCoversTheCatalog: every Pi action of the catalog has its endpoint and a fake
// job the sandbox can make, and every input is checked; nothing here names an action.
func TestSandboxCoversTheCatalog(t *testing.T) {
	srv, c := newTestServer(t, Options{})
	for _, a := range catalog.Server() {
		if r := c.do("POST", a.Endpoint, map[string]any{}); r.status != http.StatusBadRequest || r.errCode(t) != "invalid_request_body" {
			t.Errorf("%s: POST %s gave %d %s", a.Name, a.Endpoint, r.status, r.raw)
		}
		if len(a.Fake) == 0 {
			t.Errorf("%s: no fake job in the catalog", a.Name)
		}
		for _, m := range a.Fake {
			if v, ok := srv.madeUp(m.Role, &jobRec{job: job{ID: "8177a096-0e0a-4806-a856-80d06bccd834", Type: a.JobType, Input: map[string]any{}}}); !ok || v == "" {
				t.Errorf("%s: the sandbox cannot make up the %s of its fake job", a.Name, m.Role)
			}
		}
	}
	// Every input of every Pi action is checked by the endpoint: a value of the wrong type
	// is a 400 naming it.
	for _, a := range catalog.Server() {
		base := validInput(t, a)
		for _, in := range a.Inputs {
			var wrong any = 12345
			switch in.Kind {
			case catalog.Any:
				continue
			case catalog.List, catalog.Object:
				wrong = "not this"
			}
			body := map[string]any{}
			for k, v := range base {
				body[k] = v
			}
			body[in.Name] = wrong
			r := c.do("POST", a.Endpoint, body)
			want := any(in.Name)
			if !a.IssuesInErrors {
				want = nil // brands/extract names nothing: only the message
			}
			if e := errorBody(t, r); r.status != http.StatusBadRequest || e["param"] != want || e["message"] == "" {
				t.Errorf("%s: %s = %v gave %d %s", a.Name, in.Name, wrong, r.status, r.raw)
			}
		}
	}
	for _, a := range catalog.All() {
		if a.Local {
			if r := c.do("POST", "/api/v1/runs", map[string]any{"steps": []any{map[string]any{"id": "a", "action": a.Name}}}); r.status != 400 {
				t.Errorf("the Runs API took local action %s: %s", a.Name, r.raw)
			}
		}
	}
}

// Inside a run every contract rule fails the step with zod's issue list (no job created),
// as the endpoints answer 400: the same catalog.Check.
func TestRunStepsFailWithTheContract(t *testing.T) {
	_, c := newTestServer(t, Options{})
	const src = "8177a096-0e0a-4806-a856-80d06bccd834"
	for _, tt := range []struct {
		action string
		input  map[string]any
		path   string
	}{
		{"campaigns.generate", map[string]any{"prompt": "   "}, "prompt"},
		{"campaigns.generate", map[string]any{"prompt": "p", "metadata": map[string]any{"batch": 3}}, "metadata.batch"},
		{"campaigns.generate", map[string]any{"prompt": "p", "output": map[string]any{"aspect_ratio": "7:3"}}, "output.aspect_ratio"},
		{"campaigns.generate", map[string]any{"prompt": "p", "output": map[string]any{"resolution": "8K"}}, "output.resolution"},
		{"campaigns.generate", map[string]any{"prompt": "p", "client_reference_id": " "}, "client_reference_id"},
		{"campaigns.generate", map[string]any{"prompt": "p", "brand_identity_json": "text"}, "brand_identity_json"},
		{"campaigns.edit", map[string]any{"source_job_id": src}, "prompt"},
		{"campaigns.localize_ad", map[string]any{"prompt": "p", "target_culture": "fr", "source_job_id": src, "target_language": strings.Repeat("x", 65)}, "target_language"},
		{"brands.extract", map[string]any{"url": "https://x.fr", "location": map[string]any{"country": "FRA"}}, "location.country"},
	} {
		id := c.createRun(map[string]any{"steps": []any{map[string]any{"id": "s", "action": tt.action, "input": tt.input}}})
		_, r := c.waitRun(id)
		s := r.Step("s")
		issues, ok := catalog.ParseZodMessage(s.Error)
		if r.Status != run.Failed || s.JobID != "" || !ok || issues[0].PathString() != tt.path {
			t.Errorf("%s %v: run %s, step error %q, want an issue at %s", tt.action, tt.input, r.Status, s.Error, tt.path)
		}
	}
}

// The differential table of internal/catalog (zod's verdicts on 1,500 inputs, from the
// server's own schemas) through the endpoints: a refused body is a 400 with zod's first
// message, its path as param and zod's issues, but only the message on brands/extract
// (src/app/api/v1/brands/extract/route.ts uses apiError, the campaign routes apiZodError).
func TestEndpointsAgreeWithZod(t *testing.T) {
	b, err := os.ReadFile("../catalog/testdata/zod-verdicts.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Action string          `json:"action"`
		Input  map[string]any  `json:"input"`
		OK     bool            `json:"ok"`
		Issues json.RawMessage `json:"issues"`
	}
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	_, c := newTestServer(t, Options{})
	for i, tc := range cases {
		a, _ := catalog.Lookup(tc.Action)
		r := c.do("POST", a.Endpoint, tc.Input)
		if tc.OK {
			// an accepted body meets the source job check next (the table's job is nowhere)
			if r.status != http.StatusAccepted && !(r.status == http.StatusNotFound && tc.Input["source_job_id"] != nil) {
				t.Errorf("%d %s %v: zod accepts it, the endpoint says %d %s", i, tc.Action, tc.Input, r.status, r.raw)
			}
			continue
		}
		var zod []struct {
			Message string `json:"message"`
			Path    []any  `json:"path"`
		}
		_ = json.Unmarshal(tc.Issues, &zod)
		e := errorBody(t, r)
		var param any
		if parts := zod[0].Path; len(parts) > 0 && a.IssuesInErrors {
			param = catalog.JoinPath(parts)
		}
		issues, _ := json.Marshal(e["issues"])
		wantIssues := string(tc.Issues)
		if !a.IssuesInErrors {
			wantIssues = "null"
		}
		if r.status != http.StatusBadRequest || e["code"] != "invalid_request_body" || e["message"] != zod[0].Message ||
			e["param"] != param || !jsonEqual(issues, []byte(wantIssues)) {
			t.Errorf("%d %s %v: %d %s\nwant message %q, param %v, issues %s", i, tc.Action, tc.Input, r.status, r.raw, zod[0].Message, param, wantIssues)
		}
	}
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}
