package reuse

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

const (
	brandJob = "11111111-1111-4111-8111-111111111111"
	brandID  = "4fd35a71-71ef-4a55-a9d9-aa75c889a6d0"
	heroJob  = "22222222-2222-4222-8222-222222222222"
	frJob    = "33333333-3333-4333-8333-333333333333"
)

// load parses a pipeline written in the test, expanded with its params.
func load(t *testing.T, src string) *pipeline.Pipeline {
	t.Helper()
	p, _, ds, err := pipeline.Load("test.yaml", pipeline.Options{Mode: pipeline.Local, Data: []byte(src)})
	if err != nil || p == nil {
		t.Fatalf("test pipeline: %v %v", err, ds)
	}
	return p
}

// seed is the Runs page's three-step example (testdata/pipelines/valid/seed-brand-ad-localization.yaml).
const seed = `
steps:
  - id: extract_brand
    action: brands.extract
    input: { url: "https://example.com" }
  - id: generate_base
    action: campaigns.generate
    depends_on: [extract_brand]
    input: { prompt: "Create a hero campaign ad" }
    input_map: { brand_id: $steps.extract_brand.result.brand_id }
  - id: localize_fr
    action: campaigns.localize_ad
    depends_on: [generate_base]
    input: { prompt: Keep composition exactly, target_culture: French urban premium }
    input_map: { source_job_id: $steps.generate_base.result.job_id }
`

func brand(id any) Known {
	return Known{JobID: brandJob, Result: map[string]any{"job_id": brandJob, "brand_id": id, "result_url": "brands/" + brandID}}
}

func ad(job string) Known {
	return Known{JobID: job, Result: map[string]any{"job_id": job, "image_url": "https://img.test/" + job + ".png", "result_url": "https://img.test/" + job + ".png"}}
}

func ids(p *pipeline.Pipeline) []string {
	var out []string
	for _, s := range p.Steps {
		out = append(out, s.ID)
	}
	return out
}

func TestRewrite(t *testing.T) {
	for _, tt := range []struct {
		name   string
		src    string
		known  map[string]Known
		runs   []string
		forced []Forced
		check  func(t *testing.T, p *pipeline.Pipeline)
	}{{
		name:  "the failed last step of the seed pipeline",
		src:   seed,
		known: map[string]Known{"extract_brand": brand(brandID), "generate_base": ad(heroJob)},
		runs:  []string{"localize_fr"},
		check: func(t *testing.T, p *pipeline.Pipeline) {
			s := p.Steps[0]
			if s.Input["source_job_id"] != heroJob || s.InputMap != nil || len(s.DependsOn) != 0 || s.DependsOn == nil {
				t.Errorf("localize_fr = input %v, input_map %v, depends_on %#v", s.Input, s.InputMap, s.DependsOn)
			}
			if s.Input["target_culture"] != "French urban premium" {
				t.Errorf("literal input lost: %v", s.Input)
			}
		},
	}, {
		name:  "the hero ad again",
		src:   seed,
		known: map[string]Known{"extract_brand": brand(brandID)},
		runs:  []string{"generate_base", "localize_fr"},
		check: func(t *testing.T, p *pipeline.Pipeline) {
			if g := p.Steps[0]; g.Input["brand_id"] != brandID || g.InputMap != nil {
				t.Errorf("generate_base = %v %v", g.Input, g.InputMap)
			}
			if l := p.Steps[1]; l.InputMap["source_job_id"] != "$steps.generate_base.result.job_id" || !reflect.DeepEqual(l.DependsOn, []string{"generate_base"}) {
				t.Errorf("localize_fr lost its mapping from a step that runs: %v %v", l.InputMap, l.DependsOn)
			}
		},
	}, {
		name:   "a null brand id runs the extraction again, and what is downstream",
		src:    seed,
		known:  map[string]Known{"extract_brand": brand(nil)},
		runs:   []string{"extract_brand", "generate_base", "localize_fr"},
		forced: []Forced{{"extract_brand", "extract_brand's result.brand_id is null, which generate_base.brand_id cannot take"}},
	}, {
		name: "a reused step below a forced one runs again too",
		src: seed + `
  - id: localize_de
    action: campaigns.localize_ad
    depends_on: [generate_base]
    input: { prompt: Keep it, target_culture: German }
    input_map: { source_job_id: $steps.generate_base.result.job_id, brand_id: $steps.extract_brand.result.brand_id }
`,
		known: map[string]Known{"extract_brand": brand(nil), "generate_base": ad(heroJob), "localize_fr": ad(frJob)},
		runs:  []string{"extract_brand", "generate_base", "localize_fr", "localize_de"},
		forced: []Forced{
			{"extract_brand", "extract_brand's result.brand_id is null, which localize_de.brand_id cannot take"},
			{"generate_base", "downstream of extract_brand, which runs again"},
			{"localize_fr", "downstream of extract_brand, which runs again"},
		},
	}, {
		name: "a whole-result mapping",
		src: `
steps:
  - { id: extract, action: brands.extract, input: { url: "https://example.com" } }
  - id: ad
    action: campaigns.generate
    depends_on: [extract]
    input: { prompt: An ad }
    input_map: { brand_identity_json: $steps.extract.result }
`,
		known:  map[string]Known{"extract": brand(brandID)},
		runs:   []string{"extract", "ad"},
		forced: []Forced{{"extract", "ad maps the whole result of extract to brand_identity_json, which pi does not pass as a literal"}},
	}, {
		name: "a value the consumer's contract refuses",
		src: `
steps:
  - { id: hero, action: campaigns.generate, input: { prompt: An ad } }
  - id: fr
    action: campaigns.localize_ad
    depends_on: [hero]
    input: { prompt: Keep it, target_culture: French }
    input_map: { source_job_id: $steps.hero.result.job_id, target_language: $steps.hero.result.image_url }
`,
		known: map[string]Known{"hero": {JobID: heroJob, Result: map[string]any{"job_id": heroJob,
			"image_url": "https://images.example.com/campaigns/org/" + heroJob + ".png"}}},
		runs:   []string{"hero", "fr"},
		forced: []Forced{{"hero", "hero's result.image_url does not fit fr.target_language: String must contain at most 64 character(s)"}},
	}, {
		name: "a missing key",
		src: `
steps:
  - { id: hero, action: campaigns.generate, input: { prompt: An ad } }
  - id: fr
    action: campaigns.localize_ad
    depends_on: [hero]
    input: { prompt: Keep it, target_culture: French }
    input_map: { source_job_id: $steps.hero.result.job_id }
`,
		known:  map[string]Known{"hero": {JobID: heroJob, Result: map[string]any{"image_url": "x"}}},
		runs:   []string{"hero", "fr"},
		forced: []Forced{{"hero", "hero has no result.job_id for fr.source_job_id"}},
	}, {
		name:  "everything known",
		src:   seed,
		known: map[string]Known{"extract_brand": brand(brandID), "generate_base": ad(heroJob), "localize_fr": ad(frJob), "gone": ad(frJob)},
		runs:  nil,
	}} {
		t.Run(tt.name, func(t *testing.T) {
			p := load(t, tt.src)
			before, _ := json.Marshal(p.Steps)
			pl := Rewrite(p, tt.known)
			if got := ids(pl.Pipeline); !reflect.DeepEqual(got, tt.runs) {
				t.Errorf("runs %v, want %v", got, tt.runs)
			}
			if !reflect.DeepEqual(pl.Forced, tt.forced) {
				t.Errorf("forced\n%q\nwant\n%q", pl.Forced, tt.forced)
			}
			if after, _ := json.Marshal(p.Steps); string(after) != string(before) {
				t.Errorf("Rewrite changed its pipeline")
			}
			if tt.check != nil {
				tt.check(t, pl.Pipeline)
			}
			for _, id := range tt.runs {
				if !pl.Runs(id) {
					t.Errorf("Runs(%s) false", id)
				}
			}
		})
	}
}

// The literal is a copy: changing the plan's input leaves the known result alone.
func TestLiteralIsACopy(t *testing.T) {
	p := load(t, `
steps:
  - { id: a, action: http.request, input: { url: "https://x.test/env" } }
  - id: b
    action: shell.run
    depends_on: [a]
    input: { command: [cat] }
    input_map: { env: $steps.a.result.json }
`)
	res := map[string]any{"json": map[string]any{"X": "1"}}
	pl := Rewrite(p, map[string]Known{"a": {Result: res}})
	pl.Pipeline.Steps[0].Input["env"].(map[string]any)["X"] = "2"
	if res["json"].(map[string]any)["X"] != "1" {
		t.Error("the literal shares the known result")
	}
}

func TestMerge(t *testing.T) {
	p := load(t, seed)
	pl := Rewrite(p, map[string]Known{"extract_brand": brand(brandID), "generate_base": ad(heroJob)})
	body, err := pl.Pipeline.RunsBody()
	if err != nil {
		t.Fatal(err)
	}
	want := `{"steps":[{"id":"localize_fr","action":"campaigns.localize_ad","input":{"prompt":"Keep composition exactly","source_job_id":"` + heroJob + `","target_culture":"French urban premium"},"depends_on":[]}]}`
	if string(body) != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
	server := &run.Run{ID: "r1", Status: run.Completed, Steps: []run.Step{{ID: "localize_fr", Action: "campaigns.localize_ad",
		Status: run.StepCompleted, DependsOn: []string{}, JobID: frJob, Result: ad(frJob).Result}}}
	whole := pl.Merge(server)
	var got []string
	for _, s := range whole.Steps {
		got = append(got, s.ID+":"+string(s.Status)+":"+s.JobID+":"+strings.Join(s.DependsOn, ","))
	}
	wantSteps := []string{"extract_brand:reused:" + brandJob + ":", "generate_base:reused:" + heroJob + ":extract_brand", "localize_fr:completed:" + frJob + ":generate_base"}
	if whole.ID != "r1" || whole.Status != run.Completed || !reflect.DeepEqual(got, wantSteps) {
		t.Errorf("merged %s %s %q", whole.ID, whole.Status, got)
	}
	if server.Steps[0].DependsOn == nil || len(server.Steps[0].DependsOn) != 0 {
		t.Error("Merge changed the server's run")
	}

	all := Rewrite(p, map[string]Known{"extract_brand": brand(brandID), "generate_base": ad(heroJob), "localize_fr": ad(frJob)})
	if m := all.Merge(nil); m.Status != run.Completed || len(m.Steps) != 3 || m.Steps[2].Status != run.StepReused {
		t.Errorf("all reused: %+v", m)
	}
}

func TestResolveAndFind(t *testing.T) {
	p := load(t, seed)
	var asked []string
	lookup := func(st *pipeline.Step, in map[string]any) (Known, bool) {
		b, _ := json.Marshal(in)
		asked = append(asked, st.ID+" "+string(b))
		switch st.ID {
		case "extract_brand":
			return brand(brandID), true
		case "generate_base":
			return ad(heroJob), in["brand_id"] == brandID
		}
		return Known{}, false
	}
	got := Find(p, nil, lookup)
	want := []string{
		`extract_brand {"url":"https://example.com"}`,
		`generate_base {"brand_id":"` + brandID + `","prompt":"Create a hero campaign ad"}`,
		`localize_fr {"prompt":"Keep composition exactly","source_job_id":"` + heroJob + `","target_culture":"French urban premium"}`,
	}
	if !reflect.DeepEqual(asked, want) {
		t.Errorf("asked\n%s\nwant\n%s", strings.Join(asked, "\n"), strings.Join(want, "\n"))
	}
	if len(got) != 2 || got["generate_base"].JobID != heroJob {
		t.Errorf("found %v", got)
	}

	// A miss upstream: nothing below it is asked about (its key would hold a job to come).
	asked = nil
	Find(p, nil, func(st *pipeline.Step, in map[string]any) (Known, bool) {
		asked = append(asked, st.ID)
		return Known{}, false
	})
	if !reflect.DeepEqual(asked, []string{"extract_brand"}) {
		t.Errorf("asked %v after a miss", asked)
	}

	// A path that holds nothing leaves the key out, as the server's JSON does.
	in, ok := Resolve(&p.Steps[1], func(string) (map[string]any, bool) { return map[string]any{}, true })
	if _, has := in["brand_id"]; !ok || has {
		t.Errorf("Resolve = %v, %v", in, ok)
	}
}

func TestOverlay(t *testing.T) {
	recorded := &run.Run{ID: "r", Status: run.Pending, Steps: []run.Step{
		{ID: "hero", Status: run.StepReused, JobID: heroJob},
		{ID: "fr", Status: run.StepPending, DependsOn: []string{"hero"}},
		{ID: "de", Status: run.StepPending, DependsOn: []string{"hero"}},
	}}
	server := &run.Run{ID: "r", Status: run.Failed, Steps: []run.Step{
		{ID: "fr", Status: run.StepCompleted, JobID: frJob, DependsOn: []string{}},
		{ID: "hero", Status: run.StepFailed},
	}}
	got := Overlay(recorded, server)
	if got.Status != run.Failed || got.Steps[0].Status != run.StepReused || got.Steps[1].JobID != frJob ||
		!reflect.DeepEqual(got.Steps[1].DependsOn, []string{"hero"}) || got.Steps[2].Status != run.StepPending {
		t.Errorf("overlay %+v", got)
	}
}
