package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/sandbox"
)

// A run made on the server by another client whose edit takes a localization as its source:
// the step fails with child_job_failed; pi asks the job once and shows its failure_code.
func TestRunsGetShowsFailureCode(t *testing.T) {
	inst, err := sandbox.Start(context.Background(), sandbox.Options{Latency: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer inst.Close()
	body, _ := json.Marshal(map[string]any{"steps": []any{
		map[string]any{"id": "hero", "action": "campaigns.generate", "input": map[string]any{"prompt": "p"}},
		map[string]any{"id": "fr", "action": "campaigns.localize_ad", "depends_on": []any{"hero"},
			"input": map[string]any{"prompt": "p", "target_culture": "fr"}, "input_map": map[string]any{"source_job_id": "$steps.hero.result.job_id"}},
		map[string]any{"id": "tweak", "action": "campaigns.edit", "depends_on": []any{"fr"},
			"input": map[string]any{"prompt": "p"}, "input_map": map[string]any{"source_job_id": "$steps.fr.result.job_id"}},
	}})
	req, _ := http.NewRequest("POST", inst.URL+"/api/v1/runs", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+inst.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var created struct {
		Data struct {
			RunID string `json:"run_id"`
		} `json:"data"`
	}
	err = json.NewDecoder(resp.Body).Decode(&created)
	resp.Body.Close()
	if err != nil || created.Data.RunID == "" {
		t.Fatalf("create: %v", err)
	}
	env := map[string]string{"PI_BASE_URL": inst.URL, "PI_API_KEY": inst.APIKey, "HOME": t.TempDir()}
	for _, format := range []render.Format{render.FormatPlain, render.FormatJSON} {
		ios, _, out, errOut := render.Test()
		f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
		err := runsGet(context.Background(), &runsGetOptions{IO: ios, APIClient: f.apiClient, ID: created.Data.RunID, Wait: true, Format: format})
		if exitCode(err) != 1 {
			t.Fatalf("%s: exit %d (%v), stderr %s", format, exitCode(err), err, errOut)
		}
		got := out.String() + errOut.String()
		switch format {
		case render.FormatJSON:
			var r run.Run
			if err := json.Unmarshal(out.Bytes(), &r); err != nil {
				t.Fatalf("json: %v\n%s", err, out)
			}
			if s := r.Step("tweak"); s.Error != "child_job_failed" || s.Result[run.FailureCodeKey] != "source_job_type_invalid" {
				t.Errorf("json step %+v", s)
			}
		default:
			if !strings.Contains(got, "child_job_failed: source_job_type_invalid") {
				t.Errorf("%s output lacks the failure code:\n%s", format, got)
			}
		}
	}
}
