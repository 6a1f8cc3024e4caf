package render

import (
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// zodError is a step error as the server writes it (runs-get-step-invalid-input.json).
const zodError = "[\n  {\n    \"code\": \"invalid_type\",\n    \"expected\": \"string\",\n    \"received\": \"undefined\",\n    \"path\": [\n      \"prompt\"\n    ],\n    \"message\": \"Required\"\n  },\n  {\n    \"code\": \"too_small\",\n    \"path\": [\n      \"reference_images\",\n      1\n    ],\n    \"message\": \"String must contain at least 1 character(s)\"\n  }\n]"

// The client shows what the server says, readably: zod's issue list as path: message, the
// failure_code of a child_job_failed, the first line of a stack trace.
func TestStepErrorsAsPeopleReadThem(t *testing.T) {
	v := view{}
	for _, tc := range []struct {
		name          string
		step          run.Step
		detail, error string
	}{
		{"zod issues", run.Step{ID: "tweak", Action: "campaigns.edit", Status: run.StepFailed, Error: zodError},
			"prompt: Required; reference_images.1: String must contain at least 1 character(s)",
			"  tweak: prompt: Required; reference_images.1: String must contain at least 1 character(s)"},
		{"failure code", run.Step{ID: "tweak", Action: "campaigns.edit", Status: run.StepFailed, Error: "child_job_failed",
			Result: map[string]any{"job_id": "j", "error_log": nil, run.FailureCodeKey: "source_job_type_invalid"}},
			"child_job_failed: source_job_type_invalid", "  tweak: child_job_failed: source_job_type_invalid"},
		{"stack trace", run.Step{ID: "hero", Action: "campaigns.generate", Status: run.StepFailed,
			Error: "TypeError: cannot read properties of undefined\n    at render (worker.js:10:3)\n    at main (worker.js:40:1)"},
			"TypeError: cannot read properties of undefined …", "  hero: TypeError: cannot read properties of undefined …"},
		{"not zod", run.Step{ID: "a", Action: "brands.extract", Status: run.StepFailed, Error: "[upstream] timeout"},
			"[upstream] timeout", "  a: [upstream] timeout"},
	} {
		if got := v.detail(&tc.step, fixedNow); got != tc.detail {
			t.Errorf("%s: detail %q, want %q", tc.name, got, tc.detail)
		}
		r := &run.Run{ID: "f027a242-df39-44cb-943a-c9d220ddaebd", Status: run.Failed, Steps: []run.Step{tc.step}}
		got := strings.Join(summary(newStyles(nil, false, nil), r, fixedNow, 0), "\n")
		if !strings.Contains(got, "Errors:\n"+tc.error) || strings.Contains(got, "worker.js") {
			t.Errorf("%s: summary\n%s\nwant %q", tc.name, got, tc.error)
		}
		if md := summaryDetail(&tc.step); md != mdText(oneLine(tc.detail)) {
			t.Errorf("%s: job summary detail %q", tc.name, md)
		}
	}
}
