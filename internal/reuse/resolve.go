package reuse

import (
	"maps"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// Resolve is the input step st runs with when the steps it maps from have the results
// result gives: its input with every input_map entry applied as the server applies it (a
// mapped key overwrites the input's; a path that holds nothing leaves the key out, as
// JSON drops undefined). ok is false when a source's result is not known, or an entry is
// not a valid expression (the step then fails on the server before it has any input).
func Resolve(st *pipeline.Step, result func(id string) (map[string]any, bool)) (in map[string]any, ok bool) {
	in = make(map[string]any, len(st.Input)+len(st.InputMap))
	maps.Copy(in, st.Input)
	for key, expr := range st.InputMap {
		ref, valid := pipeline.ParseRef(expr)
		if !valid {
			return nil, false
		}
		res, known := result(ref.Step)
		if !known {
			return nil, false
		}
		if ref.Path == nil {
			in[key] = res
			continue
		}
		if v, found := walk(res, ref.Path); found {
			in[key] = v
		} else {
			delete(in, key)
		}
	}
	return in, true
}

// Lookup answers whether a step whose input resolved to input has a known result (a cache
// hit, verified): it is asked only about steps whose input is fully known.
type Lookup func(st *pipeline.Step, input map[string]any) (Known, bool)

// Find walks p in dependency order and asks lookup about every step not in known whose
// input is known without running anything: every input_map source is known, or found
// earlier in the walk (so a hit upstream lets the steps below it be looked up, their keys
// holding its job id). It returns known with the hits added (a new map). Rewrite then
// decides which hits are reused.
func Find(p *pipeline.Pipeline, known map[string]Known, lookup Lookup) map[string]Known {
	out := maps.Clone(known)
	if out == nil {
		out = map[string]Known{}
	}
	result := func(id string) (map[string]any, bool) {
		k, ok := out[id]
		return k.Result, ok
	}
	g := p.Graph()
	for _, layer := range g.Layers() {
		for _, i := range layer {
			st := &p.Steps[i]
			if _, ok := out[st.ID]; ok || !g.First(i) {
				continue
			}
			in, ok := Resolve(st, result)
			if !ok {
				continue
			}
			if k, hit := lookup(st, in); hit {
				out[st.ID] = k
			}
		}
	}
	return out
}

// Merge is the whole pipeline's run: the steps that ran, as r has them (nil: nothing was
// submitted, everything was reused), and the reused ones with their earlier jobs, in the
// pipeline's order and with its depends_on lists. The run is r's (id, status, times);
// without r it is completed.
func (pl *Plan) Merge(r *run.Run) *run.Run {
	out := &run.Run{Status: run.Completed}
	var ran map[string]*run.Step
	if r != nil {
		c := *r
		out = &c
		ran = make(map[string]*run.Step, len(r.Steps))
		for i := range r.Steps {
			ran[r.Steps[i].ID] = &r.Steps[i]
		}
	}
	out.Steps = make([]run.Step, 0, len(pl.Order))
	for _, id := range pl.Order {
		deps := append([]string{}, pl.DependsOn[id]...)
		if k, ok := pl.Reused[id]; ok {
			out.Steps = append(out.Steps, run.Step{ID: id, Action: pl.actions[id], Status: run.StepReused,
				DependsOn: deps, JobID: k.JobID, Result: k.Result})
			continue
		}
		s := run.Step{ID: id, Action: pl.actions[id], Status: run.StepPending}
		if got, ok := ran[id]; ok {
			s = *got
		}
		s.DependsOn = deps
		out.Steps = append(out.Steps, s)
	}
	return out
}

// Overlay is the whole pipeline's run from its record and what the server says of it now:
// the recorded steps that were reused stay as they are, every other step takes the
// server's state (by id; a step the server does not have keeps its record), and the run
// takes the server's status and times.
func Overlay(recorded, server *run.Run) *run.Run {
	out := *server
	now := make(map[string]*run.Step, len(server.Steps))
	for i := range server.Steps {
		now[server.Steps[i].ID] = &server.Steps[i]
	}
	out.Steps = make([]run.Step, len(recorded.Steps))
	for i, s := range recorded.Steps {
		if got, ok := now[s.ID]; ok && s.Status != run.StepReused {
			deps := s.DependsOn
			s = *got
			s.DependsOn = deps // the pipeline's, not the body's (which lost the reused ones)
		}
		out.Steps[i] = s
	}
	return &out
}
