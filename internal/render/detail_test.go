package render

import (
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

func TestDetail(t *testing.T) {
	v := view{maxAttempts: map[string]int{"s": 4}, retryAt: map[string]time.Time{"s": fixedNow.Add(600 * time.Millisecond)}}
	for _, tc := range []struct {
		name string
		step run.Step
		want string
	}{
		{"retry wait", run.Step{ID: "s", Action: "brands.extract", Status: run.StepQueued, Attempts: 1,
			Error: "brands.extract: job d6fd8a1c-0000-4000-8000-000000000000 failed: upstream_error: boom"},
			"retry 2/4 in 600ms: upstream_error: boom (job d6fd8a1c)"},
		{"running again after a failed attempt", run.Step{ID: "s", Action: "brands.extract", Status: run.StepProcessing, Attempts: 2, JobID: "j2",
			Error: "brands.extract: job d6fd8a1c-0000-4000-8000-000000000000 failed: upstream_error: boom"},
			"attempt 2/4, after: upstream_error: boom (job d6fd8a1c)"},
		{"reason without the action", run.Step{Action: "shell.run", Status: run.StepFailed, Error: "shell.run: sh exited with status 3: oops"},
			"sh exited with status 3: oops"},
		{"http body", run.Step{Action: "http.request", Status: run.StepFailed, Error: "http.request: GET https://x.test/a: status 401",
			Result: map[string]any{"status": float64(401), "headers": map[string]any{}, "json": map[string]any{"error": "bad key"}}},
			`status 401: {"error":"bad key"} (GET https://x.test/a)`},
		{"http refused", run.Step{Action: "http.request", Status: run.StepFailed,
			Error: `http.request: GET http://127.0.0.1:1/x: Get "http://127.0.0.1:1/x": dial tcp 127.0.0.1:1: connect: connection refused`},
			"connection refused (GET http://127.0.0.1:1/x)"},
		{"http status", run.Step{Action: "http.request", Status: run.StepCompleted,
			Result: map[string]any{"status": float64(200), "headers": map[string]any{}, "body": "ok"}}, "status=200 OK"},
		{"shell stdout", run.Step{Action: "shell.run", Status: run.StepCompleted,
			Result: map[string]any{"stdout": "\n  hello world\nmore\n", "stderr": "", "exit_code": float64(0)}}, "hello world"},
		{"shell silent", run.Step{Action: "shell.run", Status: run.StepCompleted,
			Result: map[string]any{"stdout": "", "stderr": "", "exit_code": float64(0)}}, "exit_code=0"},
		{"shell json", run.Step{Action: "shell.run", Status: run.StepCompleted, Result: map[string]any{"ok": true}}, `{"ok":true}`},
		{"pi result", run.Step{Action: "brands.extract", Status: run.StepCompleted, Result: map[string]any{"brand_id": "b1", "job_id": "j"}}, "brand_id=b1"},
		{"control characters", run.Step{Action: "shell.run", Status: run.StepCompleted,
			Result: map[string]any{"stdout": "\x1b[2Jgone\x07", "exit_code": float64(0)}}, `\x1b[2Jgone\a`},
		{"job", run.Step{Action: "brands.extract", Status: run.StepProcessing, JobID: "j1"}, "job j1"},
	} {
		if got := v.detail(&tc.step, fixedNow); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The summary lists short results of local steps and, for a failed HTTP step, the
// response it got.
func TestSummaryLocalResults(t *testing.T) {
	r := &run.Run{ID: "f027a242-df39-44cb-943a-c9d220ddaebd", Status: run.Failed, Steps: []run.Step{
		{ID: "say", Action: "shell.run", Status: run.StepCompleted, Result: map[string]any{"stdout": "hi\n", "exit_code": float64(0)}},
		{ID: "call", Action: "http.request", Status: run.StepFailed, Error: "http.request: GET https://x.test/a: status 401",
			Result: map[string]any{"status": float64(401), "headers": map[string]any{}, "body": "no key\n"}},
	}}
	got := strings.Join(summary(newStyles(nil, false, nil), r, fixedNow, 0), "\n")
	for _, want := range []string{"  say  stdout  hi", "  call: http.request: GET https://x.test/a: status 401\n    response: no key"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary lacks %q:\n%s", want, got)
		}
	}
}
