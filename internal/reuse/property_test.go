package reuse

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/pipeline"
)

// randomPipeline is a valid pipeline of 1..14 Pi steps in a random order: extractions,
// ads generated (on a brand, sometimes its whole result), edits and localizations of
// earlier ads, with input_map entries to their sources and extra random dependencies.
func randomPipeline(rng *rand.Rand) *pipeline.Pipeline {
	n := 1 + rng.IntN(14)
	p := &pipeline.Pipeline{Name: "random.yaml"}
	var extracts, ads []int
	pick := func(from []int) string { return fmt.Sprintf("s%d", from[rng.IntN(len(from))]) }
	for i := 0; i < n; i++ {
		st := pipeline.Step{ID: fmt.Sprintf("s%d", i), Input: map[string]any{}, InputMap: map[string]string{}}
		mapFrom := func(key, src, path string) {
			st.InputMap[key] = "$steps." + src + ".result" + path
		}
		switch k := rng.IntN(4); {
		case k == 0 || i == 0:
			st.Action, st.Input["url"] = "brands.extract", "https://example.com/"+st.ID
			extracts = append(extracts, i)
		case k == 1 || len(ads) == 0:
			st.Action, st.Input["prompt"] = "campaigns.generate", "an ad "+st.ID
			if len(extracts) > 0 && rng.IntN(2) == 0 {
				mapFrom("brand_id", pick(extracts), ".brand_id")
			}
			if len(extracts) > 0 && rng.IntN(8) == 0 {
				mapFrom("brand_identity_json", pick(extracts), "")
			}
			ads = append(ads, i)
		case k == 2:
			st.Action, st.Input["prompt"] = "campaigns.edit", "brighter"
			mapFrom("source_job_id", pick(ads), ".job_id")
			ads = append(ads, i)
		default:
			st.Action = "campaigns.localize_ad"
			st.Input["prompt"], st.Input["target_culture"] = "keep it", "French"
			src := pick(ads)
			mapFrom("source_job_id", src, ".job_id")
			if rng.IntN(4) == 0 {
				mapFrom("target_language", src, ".image_url")
			}
			if len(extracts) > 0 && rng.IntN(3) == 0 {
				mapFrom("brand_id", pick(extracts), ".brand_id")
			}
		}
		deps := map[string]bool{}
		for _, expr := range st.InputMap {
			ref, _ := pipeline.ParseRef(expr)
			deps[ref.Step] = true
		}
		for j := 0; j < i; j++ {
			if rng.IntN(6) == 0 {
				deps[fmt.Sprintf("s%d", j)] = true
			}
		}
		for j := 0; j < i; j++ { // in a stable order
			if id := fmt.Sprintf("s%d", j); deps[id] {
				st.DependsOn = append(st.DependsOn, id)
			}
		}
		if len(st.InputMap) == 0 {
			st.InputMap = nil
		}
		p.Steps = append(p.Steps, st)
	}
	rng.Shuffle(len(p.Steps), func(i, j int) { p.Steps[i], p.Steps[j] = p.Steps[j], p.Steps[i] })
	return p
}

func randomUUID(rng *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.IntN(1<<16), rng.IntN(1<<12), rng.IntN(1<<12), rng.Int64N(1<<48))
}

// randomResult is a completed step's result: sometimes with a null brand id, or an image
// URL too long for a language code.
func randomResult(rng *rand.Rand, action string) Known {
	job := randomUUID(rng)
	if action == "brands.extract" {
		var id any = randomUUID(rng)
		if rng.IntN(5) == 0 {
			id = nil
		}
		return Known{JobID: job, Result: map[string]any{"job_id": job, "brand_id": id, "result_url": "brands/x"}}
	}
	url := "https://i.test/" + job[:4]
	if rng.IntN(5) == 0 {
		url += strings.Repeat("x", 80)
	}
	return Known{JobID: job, Result: map[string]any{"job_id": job, "image_url": url, "result_url": url}}
}

// describe is a pipeline's steps as short JSON, for a failure message.
func describe(steps []pipeline.Step) string {
	var b strings.Builder
	for _, s := range steps {
		fmt.Fprintf(&b, "\n  %s %s in=%s map=%s deps=%v", s.ID, s.Action, jsonOf(s.Input), jsonOf(s.InputMap), s.DependsOn)
	}
	return b.String()
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// Over random DAGs and random sets of completed steps: the rewritten pipeline is valid,
// names no step it left out, left out only known steps, says why every other known step
// runs, runs everything below a forced step, and gives every step that runs exactly the
// input the whole pipeline would have given it.
func TestRewriteProperties(t *testing.T) {
	for seed := uint64(0); seed < 600; seed++ {
		rng := rand.New(rand.NewPCG(seed, 22))
		p := randomPipeline(rng)
		if ds := p.Validate(pipeline.Local, nil); ds.HasErrors() {
			t.Fatalf("seed %d: the generator made an invalid pipeline: %v%s", seed, ds, describe(p.Steps))
		}
		known := map[string]Known{}
		all := map[string]Known{}
		for _, st := range p.Steps {
			k := randomResult(rng, st.Action)
			all[st.ID] = k
			if rng.IntN(3) > 0 {
				known[st.ID] = k
			}
		}
		pl := Rewrite(p, known)
		if err := checkPlan(p, known, all, pl); err != nil {
			t.Fatalf("seed %d: %v\npipeline%s\nknown %s\nrewritten%s", seed, err, describe(p.Steps), jsonOf(known), describe(pl.Pipeline.Steps))
		}
	}
}

func checkPlan(p *pipeline.Pipeline, known, all map[string]Known, pl *Plan) error {
	out := pl.Pipeline
	in := map[string]bool{}
	for _, s := range out.Steps {
		in[s.ID] = true
	}
	if len(out.Steps) > 0 {
		mode := pipeline.Remote
		if len(out.Steps) > 10 {
			mode = pipeline.Local
		}
		if ds := out.Validate(mode, nil); ds.HasErrors() {
			return fmt.Errorf("rewritten pipeline invalid: %v", ds)
		}
	}
	forced := map[string]bool{}
	for _, f := range pl.Forced {
		forced[f.Step] = f.Reason != ""
	}
	for _, s := range p.Steps {
		_, isKnown := known[s.ID]
		switch {
		case !in[s.ID] && !isKnown:
			return fmt.Errorf("%s left out but not known", s.ID)
		case !in[s.ID] && pl.Reused[s.ID].JobID != known[s.ID].JobID:
			return fmt.Errorf("%s reuses another job", s.ID)
		case in[s.ID] && isKnown && !forced[s.ID]:
			return fmt.Errorf("%s known and runs, without a reason", s.ID)
		}
	}
	g := pipeline.NewGraph(p)
	for _, f := range pl.Forced {
		i, _ := g.Index(f.Step)
		for _, d := range downstream(g, i) {
			if !in[p.Steps[d].ID] {
				return fmt.Errorf("%s is reused below %s, which runs again", p.Steps[d].ID, f.Step)
			}
		}
	}
	result := func(id string) (map[string]any, bool) { return all[id].Result, true }
	ran := func(id string) (map[string]any, bool) {
		if !in[id] {
			return nil, false // a reference to a step left out
		}
		return all[id].Result, true
	}
	k := 0
	for _, s := range p.Steps {
		if !in[s.ID] {
			continue
		}
		got := out.Steps[k]
		k++
		if got.ID != s.ID {
			return fmt.Errorf("order changed: %s where %s was", got.ID, s.ID)
		}
		for _, d := range got.DependsOn {
			if !in[d] {
				return fmt.Errorf("%s depends on %s, left out", s.ID, d)
			}
		}
		want, _ := Resolve(&s, result)
		have, ok := Resolve(&got, ran)
		if !ok {
			return fmt.Errorf("%s maps from a step left out: %v", s.ID, got.InputMap)
		}
		if jsonOf(want) != jsonOf(have) {
			return fmt.Errorf("%s runs with %s, the whole pipeline would give it %s", s.ID, jsonOf(have), jsonOf(want))
		}
	}
	return nil
}
