// Package reuse decides which steps of a pipeline need not run because a result an earlier
// job paid for is known (from the run being rerun, from the step cache, or from an earlier
// wave), and rewrites the pipeline for the rest: each reused result is passed to its
// consumers as a literal input, the reused steps leave the pipeline and the dependencies on
// them are dropped. It is pure: it neither reads nor writes anything.
package reuse

import (
	"fmt"
	"maps"
	"slices"

	"github.com/pi-cli/pi/internal/pipeline"
)

// Known is the result of a completed job that a step may reuse instead of running.
type Known struct {
	JobID  string
	Result map[string]any
}

// Forced is a step whose result was known that runs again all the same, and why.
type Forced struct {
	Step   string
	Reason string
}

// Plan is a pipeline cut down to what must run.
type Plan struct {
	// Pipeline holds the steps that run, in the original order, rewritten: every input_map
	// entry naming a reused step is now a literal input, and depends_on no longer names
	// reused steps. It has no steps when everything is reused, and is the pipeline given
	// to Rewrite itself when nothing is (do not change it).
	Pipeline *pipeline.Pipeline
	// Reused are the steps that do not run, by id, with the result they reuse.
	Reused map[string]Known
	// Forced are the steps that had a known result but run again, in pipeline order.
	Forced []Forced
	// Order is every step id of the original pipeline, in its order.
	Order []string
	// DependsOn is every step's original depends_on, for a view of the whole pipeline.
	DependsOn map[string][]string
	actions   map[string]string
}

// Runs reports whether step id runs (it is not reused).
func (pl *Plan) Runs(id string) bool {
	_, reused := pl.Reused[id]
	return !reused
}

// Rewrite cuts p (expanded, params applied) down to the steps that must run when the steps
// in known have the given results. A known step is reused unless a step that runs cannot
// take its result as a literal (a whole-result mapping, a missing or null value at the
// path, a value the consumer's contract refuses): then it runs again, with everything
// downstream of it (their results came from the job it replaces), and Forced says why.
// Known ids that are not steps of p are ignored.
func Rewrite(p *pipeline.Pipeline, known map[string]Known) *Plan {
	g := p.Graph()
	n := len(p.Steps)
	reused := make([]bool, n)
	for i := range p.Steps {
		_, ok := known[p.Steps[i].ID]
		reused[i] = ok && g.First(i)
	}
	var forced []Forced
	// A worklist of the steps that run: each is checked once, when it joins them.
	var queue []int
	for i := range p.Steps {
		if !reused[i] {
			queue = append(queue, i)
		}
	}
	for len(queue) > 0 {
		c := queue[0]
		queue = queue[1:]
		for _, r := range refusals(p, g, c, reused, known) {
			if !reused[r.src] {
				continue // forced by an earlier refusal
			}
			reused[r.src] = false
			queue = append(queue, r.src)
			forced = append(forced, Forced{Step: p.Steps[r.src].ID, Reason: r.why})
			for _, d := range downstream(g, r.src) {
				if reused[d] {
					reused[d] = false
					queue = append(queue, d)
					forced = append(forced, Forced{Step: p.Steps[d].ID,
						Reason: fmt.Sprintf("downstream of %s, which runs again", p.Steps[r.src].ID)})
				}
			}
		}
	}
	return build(p, g, reused, known, forced)
}

// refusal is a known result that a running step cannot take as a literal.
type refusal struct {
	src int
	why string
}

// refusals lists the reused steps whose results step c, which runs, cannot take as
// literals, in the order of its input_map keys.
func refusals(p *pipeline.Pipeline, g *pipeline.Graph, c int, reused []bool, known map[string]Known) []refusal {
	st := &p.Steps[c]
	var out []refusal
	for _, key := range slices.Sorted(maps.Keys(st.InputMap)) {
		ref, ok := pipeline.ParseRef(st.InputMap[key])
		if !ok {
			continue
		}
		j, ok := g.Index(ref.Step)
		if !ok || !reused[j] {
			continue
		}
		if _, why := Literal(st, key, ref, known[ref.Step].Result); why != "" {
			out = append(out, refusal{src: j, why: why})
		}
	}
	return out
}

// downstream lists every step that depends on i, directly or not, in breadth-first order.
func downstream(g *pipeline.Graph, i int) []int {
	seen := map[int]bool{i: true}
	var out []int
	for q := []int{i}; len(q) > 0; q = q[1:] {
		for _, d := range g.Dependents(q[0]) {
			if !seen[d] {
				seen[d] = true
				out = append(out, d)
				q = append(q, d)
			}
		}
	}
	return out
}

// build makes the plan once the reused steps are settled.
func build(p *pipeline.Pipeline, g *pipeline.Graph, reused []bool, known map[string]Known, forced []Forced) *Plan {
	pl := &Plan{
		Pipeline:  &pipeline.Pipeline{Name: p.Name, Metadata: p.Metadata},
		Reused:    map[string]Known{},
		Forced:    sortForced(p, forced),
		Order:     make([]string, len(p.Steps)),
		DependsOn: make(map[string][]string, len(p.Steps)),
		actions:   make(map[string]string, len(p.Steps)),
	}
	some := false
	for i := range p.Steps {
		st := &p.Steps[i]
		pl.Order[i] = st.ID
		pl.DependsOn[st.ID] = st.DependsOn
		pl.actions[st.ID] = st.Action
		if reused[i] {
			pl.Reused[st.ID] = known[st.ID]
			some = true
		}
	}
	if !some {
		// Nothing reused: p itself runs (a local run of 100,000 steps is not copied).
		pl.Pipeline = p
		return pl
	}
	pl.Pipeline.Steps = make([]pipeline.Step, 0, len(p.Steps)-len(pl.Reused))
	for i := range p.Steps {
		if !reused[i] {
			pl.Pipeline.Steps = append(pl.Pipeline.Steps, rewriteStep(&p.Steps[i], g, reused, known))
		}
	}
	return pl
}

// rewriteStep is step st with what it takes from reused steps as literal inputs.
func rewriteStep(st *pipeline.Step, g *pipeline.Graph, reused []bool, known map[string]Known) pipeline.Step {
	isReused := func(id string) bool {
		j, ok := g.Index(id)
		return ok && reused[j]
	}
	out := *st
	out.DependsOn = nil
	for _, d := range st.DependsOn {
		if !isReused(d) {
			out.DependsOn = append(out.DependsOn, d)
		}
	}
	if len(out.DependsOn) == 0 && st.DependsOn != nil {
		out.DependsOn = []string{}
	}
	var literals map[string]any
	out.InputMap = nil
	for _, key := range slices.Sorted(maps.Keys(st.InputMap)) {
		ref, ok := pipeline.ParseRef(st.InputMap[key])
		if !ok || !isReused(ref.Step) {
			if out.InputMap == nil {
				out.InputMap = map[string]string{}
			}
			out.InputMap[key] = st.InputMap[key]
			continue
		}
		v, _ := Literal(st, key, ref, known[ref.Step].Result) // accepted by Rewrite
		if literals == nil {
			literals = map[string]any{}
		}
		literals[key] = v
	}
	if literals != nil {
		in := make(map[string]any, len(st.Input)+len(literals))
		maps.Copy(in, st.Input)
		maps.Copy(in, literals) // mapped keys overwrite keys of input, as on the server
		out.Input = in
	}
	return out
}

// sortForced puts forced steps in pipeline order, each once (its first reason).
func sortForced(p *pipeline.Pipeline, forced []Forced) []Forced {
	why := map[string]string{}
	for _, f := range forced {
		if _, ok := why[f.Step]; !ok {
			why[f.Step] = f.Reason
		}
	}
	var out []Forced
	for _, st := range p.Steps {
		if r, ok := why[st.ID]; ok {
			out = append(out, Forced{Step: st.ID, Reason: r})
			delete(why, st.ID)
		}
	}
	return out
}
