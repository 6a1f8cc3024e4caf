package cache

import (
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/reuse"
	"github.com/pi-cli/pi/internal/run"
)

// seedPipeline is the Runs page's three-step example, with the localization's prompt given.
func seedPipeline(t *testing.T, prompt string) *pipeline.Pipeline {
	t.Helper()
	src := `
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
    input: { prompt: "` + prompt + `", target_culture: French urban premium }
    input_map: { source_job_id: $steps.generate_base.result.job_id }
`
	p, _, ds, err := pipeline.Load("seed.yaml", pipeline.Options{Data: []byte(src)})
	if err != nil || p == nil {
		t.Fatalf("%v %v", ds, err)
	}
	return p
}

// server is a fake Pi server for the plan: it runs the steps of a rewritten pipeline the
// way the Runs API would (every step completes), counting the jobs it makes, and answers
// GET /jobs for them.
type server struct {
	jobs map[string]*Job
	made int
}

func (s *server) RunStep(context.Context, string, string, bool) (string, string, error) {
	return "", "", fmt.Errorf("no runs: %w", ErrNoJob)
}

func (s *server) Job(_ context.Context, id string, _ bool) (*Job, error) {
	if j, ok := s.jobs[id]; ok {
		return j, nil
	}
	return nil, fmt.Errorf("404: %w", ErrNoJob)
}

// run runs the planned pipeline, and returns the whole pipeline's run (reused steps
// included) as pi would record it.
func (s *server) run(t *testing.T, pl *Planned) *run.Run {
	t.Helper()
	r := &run.Run{ID: fmt.Sprint("run-", s.made), Status: run.Completed}
	results := map[string]map[string]any{}
	for id, k := range pl.Reused {
		results[id] = k.Result
	}
	for _, layer := range pl.Pipeline.Layers() {
		for _, id := range layer {
			var st *pipeline.Step
			for i := range pl.Pipeline.Steps {
				if pl.Pipeline.Steps[i].ID == id {
					st = &pl.Pipeline.Steps[i]
				}
			}
			if _, ok := reuse.Resolve(st, func(id string) (map[string]any, bool) { r, ok := results[id]; return r, ok }); !ok {
				t.Fatalf("%s cannot resolve its input", id)
			}
			s.made++
			job := fmt.Sprintf("00000000-0000-4000-8000-%012d", s.made)
			res := map[string]any{"job_id": job, "image_url": "https://img.test/" + job, "result_url": "https://img.test/" + job}
			typ := map[string]string{"brands.extract": "brand_extraction", "campaigns.generate": "campaign_ad_generation", "campaigns.localize_ad": "campaign_ad_localization"}[st.Action]
			payload := map[string]any{"image_url": "https://img.test/" + job}
			url := "https://img.test/" + job
			if st.Action == "brands.extract" {
				brand := fmt.Sprintf("bbbbbbbb-0000-4000-8000-%012d", s.made)
				res = map[string]any{"job_id": job, "brand_id": brand, "result_url": "brands/" + brand}
				url, payload = "brands/"+brand, nil
			}
			s.jobs[job] = &Job{ID: job, Type: typ, Status: "completed", ResultURL: url, Payload: payload}
			results[id] = res
			r.Steps = append(r.Steps, run.Step{ID: id, Action: st.Action, Status: run.StepCompleted, JobID: job, Result: res})
		}
	}
	return pl.Merge(r)
}

// The figures on a fake server: the seed pipeline twice pays 3 jobs, not 6; a new
// localization prompt pays 1; --reroll generate_base pays 2; a job the server lost is not
// reused; --no-cache pays everything and still records; --cache=read records nothing.
func TestPlanPaysOnce(t *testing.T) {
	ctx := context.Background()
	c := open(t, filepath.Join(t.TempDir(), "cache.db"), Options{})
	srv := &server{jobs: map[string]*Job{}}
	pol := Policy{Server: Sandbox, Jobs: srv}
	pay := func(p *pipeline.Pipeline, pol Policy) (int, *Planned) {
		t.Helper()
		before := srv.made
		pl, err := c.Plan(ctx, p, nil, pol)
		if err != nil {
			t.Fatal(err)
		}
		r := srv.run(t, pl)
		if err := c.Record(ctx, p, r, pl.Decisions, pol); err != nil {
			t.Fatal(err)
		}
		if got := srv.made - before; got != len(pl.Pipeline.Steps) {
			t.Fatalf("paid %d, planned %d", got, len(pl.Pipeline.Steps))
		}
		return srv.made - before, pl
	}
	seed := seedPipeline(t, "Keep composition exactly")
	if n, _ := pay(seed, pol); n != 3 {
		t.Fatalf("first run paid %d", n)
	}
	n, pl := pay(seed, pol)
	if n != 0 {
		t.Fatalf("second run paid %d", n)
	}
	if d := pl.Describe("generate_base", time.Now()); !strings.HasPrefix(d, "reuse 00000000-0000-4000-8000-000000000002 (") {
		t.Errorf("describe: %s", d)
	}
	if n, pl = pay(seedPipeline(t, "Keep the composition, warmer light"), pol); n != 1 || pl.Pipeline.Steps[0].ID != "localize_fr" {
		t.Fatalf("a new localization prompt paid %d", n)
	}
	reroll := pol
	reroll.Reroll = []string{"generate_base"}
	if n, pl = pay(seed, reroll); n != 2 || pl.Describe("generate_base", time.Now()) != "pay (rerolled: variant 1)" {
		t.Fatalf("reroll paid %d: %s", n, pl.Describe("generate_base", time.Now()))
	}
	// The next plain run takes the new variant, and the localization made from it.
	if n, pl = pay(seed, pol); n != 0 || pl.Reused["generate_base"].JobID != "00000000-0000-4000-8000-000000000005" {
		t.Fatalf("after the reroll: paid %d, generate_base reuses %v", n, pl.Reused["generate_base"])
	}
	// A job the server no longer has is dropped, and paid for again.
	delete(srv.jobs, pl.Reused["localize_fr"].JobID)
	if n, pl = pay(seed, pol); n != 1 || !strings.Contains(pl.Describe("localize_fr", time.Now()), "the server no longer has job") {
		t.Fatalf("a lost job: paid %d (%s)", n, pl.Describe("localize_fr", time.Now()))
	}
	// --no-cache pays for everything, and what it paid for is what the next run reuses.
	if n, _ = pay(seed, Policy{Mode: Write, Server: Sandbox, Jobs: srv}); n != 3 {
		t.Fatalf("--no-cache paid %d", n)
	}
	if n, pl = pay(seed, pol); n != 0 || pl.Reused["extract_brand"].JobID != fmt.Sprintf("00000000-0000-4000-8000-%012d", srv.made-2) {
		t.Fatalf("after --no-cache: paid %d, reuses %v", n, pl.Reused)
	}
	// --cache=read reuses, and records nothing of what it pays for.
	read := Policy{Mode: Read, Server: Sandbox, Jobs: srv}
	if n, _ = pay(seedPipeline(t, "another"), read); n != 1 {
		t.Fatalf("read mode paid %d", n)
	}
	if n, _ = pay(seedPipeline(t, "another"), read); n != 1 {
		t.Fatalf("read mode recorded: paid %d", n)
	}
	// Another server (or key): nothing is reused.
	if n, _ = pay(seed, Policy{Server: "https://pi.example.com key:01", Jobs: srv}); n != 3 {
		t.Fatalf("another server paid %d", n)
	}
	if got := pl.Paid(); !reflect.DeepEqual(got, map[string]int{}) {
		t.Errorf("paid per action %v", got)
	}
}

// Steps a policy keeps out of the cache (a local action, cache: false) always pay, and so
// does everything that takes their results.
func TestPlanCacheable(t *testing.T) {
	ctx := context.Background()
	c := open(t, filepath.Join(t.TempDir(), "cache.db"), Options{})
	srv := &server{jobs: map[string]*Job{}}
	seed := seedPipeline(t, "x")
	pol := Policy{Server: Sandbox, Jobs: srv, Cacheable: func(st *pipeline.Step) bool { return st.ID != "generate_base" }}
	for range 2 {
		pl, err := c.Plan(ctx, seed, nil, pol)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Record(ctx, seed, srv.run(t, pl), pl.Decisions, pol); err != nil {
			t.Fatal(err)
		}
	}
	if srv.made != 5 {
		t.Errorf("made %d jobs, want 3 then 2", srv.made)
	}
}
