package render

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// rerunRun is a rerun of a run whose localization failed: the extraction and the hero ad
// are reused (earlier jobs), the localization ran again.
func rerunRun() *run.Run {
	t0 := fixedNow.Add(-4 * time.Second)
	return &run.Run{ID: "0b5f3c1e-8f6a-4d2b-9c1a-2e7d5f9a3b41", Status: run.Completed, CreatedAt: t0, UpdatedAt: fixedNow,
		Steps: []run.Step{
			{ID: "extract", Action: "brands.extract", Status: run.StepReused, JobID: "11111111-1111-4111-8111-111111111111",
				Result: map[string]any{"job_id": "11111111-1111-4111-8111-111111111111", "brand_id": "4fd35a71-71ef-5a55-a9d9-aa75c889a6d0"}},
			{ID: "hero", Action: "campaigns.generate", Status: run.StepReused, DependsOn: []string{"extract"}, JobID: "22222222-2222-4222-8222-222222222222",
				Result: map[string]any{"job_id": "22222222-2222-4222-8222-222222222222", "image_url": "https://img.test/hero.png"}},
			{ID: "localize_fr", Action: "campaigns.localize_ad", Status: run.StepCompleted, DependsOn: []string{"hero"},
				JobID: "33333333-3333-4333-8333-333333333333", StartedAt: t0, CompletedAt: fixedNow,
				Result: map[string]any{"job_id": "33333333-3333-4333-8333-333333333333", "image_url": "https://img.test/fr.png"}},
		}}
}

// A reused step reads as reused, with the earlier job, in the table, the job summary and
// -o json; its image counts among the run's results.
func TestReusedSteps(t *testing.T) {
	ios, _, out, _ := Test()
	p := NewProgress(ios, Options{Format: FormatPlain, Clock: fixedClock(), Tick: 1 << 40})
	p.Start(rerunRun())
	if err := p.Finish(rerunRun()); err != nil {
		t.Fatal(err)
	}
	table := out.String()
	for _, want := range []string{"reused", "reused job 22222222-2222-4222-8222-222222222222", "https://img.test/hero.png", "2 reused"} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q:\n%s", want, table)
		}
	}

	md := SummaryMarkdown(rerunRun(), fixedNow, false)
	for _, want := range []string{"♻️ reused", `reused job 11111111-1111-4111-8111-111111111111`, `src="https://img.test/hero.png"`} {
		if !strings.Contains(md, want) {
			t.Errorf("summary lacks %q:\n%s", want, md)
		}
	}

	b, err := json.Marshal(rerunRun())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"status":"reused","depends_on":[],"job_id":"11111111-1111-4111-8111-111111111111"`) {
		t.Errorf("json: %s", b)
	}
}
