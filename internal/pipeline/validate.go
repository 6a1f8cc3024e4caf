package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/pi-cli/pi/internal/safe"

	"github.com/pi-cli/pi/internal/catalog"
)

// Mode says who will execute the pipeline, which decides the step limit and the actions
// allowed.
type Mode int

const (
	// Remote is the Runs API: 1..10 steps, Pi actions only.
	Remote Mode = iota
	// Local is pi's own engine (--local, --sandbox): no step limit, local actions allowed.
	Local
)

// Limits of the Runs API (PI-API.md, Runs).
const (
	MaxRemoteSteps = 10
	MaxIDLength    = 64
	MaxAttempts    = 10
)

// Validate checks the meaning of a parsed pipeline for the given mode: the step limit, ids,
// the dependency graph, actions and their inputs, input_map references, params and the
// extensions. params are the `-p NAME=VALUE` overrides (nil for none). It reports every
// problem at once, sorted by position; it does not repeat what Parse reported.
func (p *Pipeline) Validate(mode Mode, params map[string]string) Diagnostics {
	values := paramValues(p, params)
	x, matrixDiags := p.expand(values) // matrix steps are checked as the steps they become
	v := &validator{p: x, g: NewGraph(x), mode: mode, diags: diags{file: p.Name}, paramValues: values}
	v.stepCount()
	v.index()
	var inExpansions []attributed
	for i := range x.Steps {
		n := len(v.list)
		v.step(i)
		if o := x.Steps[i].Origin; o != nil {
			inExpansions = append(inExpansions, attribute(v.list[n:], &x.Steps[i])...)
			v.list = v.list[:n]
		}
	}
	v.cycles()
	v.params(params)
	v.list = append(v.list, matrixDiags...)
	v.list = append(v.list, mergeExpansions(x, inExpansions)...)
	v.list.Sort()
	return v.result()
}

type validator struct {
	diags
	p     *Pipeline
	g     *Graph // built once: every graph question of the checks is asked of it
	mode  Mode
	ids   map[string]int // id -> index of its first step
	names []string       // ids in declaration order, for suggestions
	// paramValues are the params' values (defaults, then valid -p overrides) for checking
	// input values as they will be sent.
	paramValues map[string]any
}

func paramValues(p *Pipeline, overrides map[string]string) map[string]any {
	if len(p.Params) == 0 {
		return nil
	}
	values := make(map[string]any, len(p.Params))
	for name, prm := range p.Params {
		values[name] = prm.Value
		if raw, ok := overrides[name]; ok {
			if val, err := overrideValue(name, raw, prm.Value); err == nil {
				values[name] = val
			}
		}
	}
	return values
}

func (v *validator) stepCount() {
	n := len(v.p.Steps)
	switch {
	case n == 0 && v.p.stepsReported:
		// the steps list was already reported as malformed
	case n == 0:
		at := v.p.StepsPos
		if at == (Pos{}) && v.p.Name != "" {
			at = Pos{1, 1}
		}
		v.errorf(at, "no steps: a pipeline needs 1 to %d steps (add a steps: list)", MaxRemoteSteps)
	case n > MaxRemoteSteps && v.p.ExpansionNote() != "" && v.mode == Remote:
		v.errorf(v.p.largestMatrix(), "%d steps %s: the Runs API accepts at most %d (use --local, which has no limit)", n, v.p.ExpansionNote(), MaxRemoteSteps)
	case n > MaxRemoteSteps && v.p.ExpansionNote() != "":
		v.warnf(v.p.largestMatrix(), "%d steps %s: fine for --local, but the Runs API would refuse more than %d", n, v.p.ExpansionNote(), MaxRemoteSteps)
	case n > MaxRemoteSteps && v.mode == Remote:
		v.errorf(firstPos(v.p.StepsKeyPos, v.p.StepsPos), "%d steps: the Runs API accepts at most %d (split the pipeline, or run it with --local, which has no limit)", n, MaxRemoteSteps)
	case n > MaxRemoteSteps:
		v.warnf(firstPos(v.p.StepsKeyPos, v.p.StepsPos), "%d steps: fine for --local, but the Runs API would refuse more than %d", n, MaxRemoteSteps)
	}
}

func (v *validator) index() {
	v.ids = make(map[string]int, len(v.p.Steps))
	for i := range v.p.Steps {
		s := &v.p.Steps[i]
		if s.reported.has(fID) {
			continue
		}
		at := s.IDPos
		if at == (Pos{}) {
			at = s.Pos
		}
		switch n := utf8.RuneCountInString(s.ID); {
		case n == 0:
			v.errorf(at, "step %d has an empty id: give it 1 to %d characters", i+1, MaxIDLength)
			continue
		case n > MaxIDLength:
			v.errorf(at, "id %q is %d characters long: the server accepts at most %d", truncate(s.ID, 20), n, MaxIDLength)
		case safe.HasControl(s.ID):
			v.errorf(at, "id %q holds a control character: ids are printed in tables, logs and CI annotations", s.ID)
			continue
		}
		if first, dup := v.ids[s.ID]; dup {
			v.errorf(at, "duplicate step id %q (also step %d%s): ids must be unique", s.ID, first+1, atLine(v.p.Steps[first].IDPos))
			continue
		}
		v.ids[s.ID] = i
		if o := s.Origin; o != nil {
			if o.Index == 1 {
				v.names = append(v.names, o.Template) // suggest the matrix step, not each expansion
			}
			continue
		}
		v.names = append(v.names, s.ID)
	}
}

func atLine(p Pos) string {
	if p.Line == 0 {
		return ""
	}
	return fmt.Sprintf(", line %d", p.Line)
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}

func (v *validator) step(i int) {
	s := &v.p.Steps[i]
	// dependencies
	seen := map[string]bool{}
	for j, dep := range s.DependsOn {
		at := posAt(s.DependsOnPos, j, s.Pos)
		switch {
		case seen[dep]:
			v.errorf(at, "%q is listed twice in depends_on: remove one", dep)
		case dep == s.ID && !s.reported.has(fID):
			v.errorf(at, "step %q depends on itself: remove it from depends_on", s.ID)
		case !v.known(dep):
			v.errorf(at, "depends_on: unknown step %q%s", dep, suggestOr(dep, v.names, "the steps are "+quoteList(v.names)))
		}
		seen[dep] = true
	}

	// action and inputs
	spec := v.action(s)
	if spec != nil {
		v.contract(s, spec)
	}

	// input_map
	keys := slices.Sorted(maps.Keys(s.InputMap))
	for _, k := range keys {
		expr := s.InputMap[k]
		at := s.InputMapPos[k]
		if at == (Pos{}) {
			at = s.Pos
		}
		ref, ok := ParseRef(expr)
		if !ok {
			v.errorf(at, "input_map.%s: %q is not a step reference: write $steps.<id>.result or $steps.<id>.result.<field>", k, expr)
			continue
		}
		if ref.Step == s.ID {
			v.errorf(at, "input_map.%s refers to the step itself: a step cannot use its own result", k)
			continue
		}
		src, known := v.ids[ref.Step]
		if !known {
			v.errorf(at, "input_map.%s refers to unknown step %q%s", k, ref.Step, suggestOr(ref.Step, v.names, ""))
			continue
		}
		if !v.g.Ancestor(i, src) {
			v.errorf(at, "input_map.%s refers to step %q which is not in depends_on (add %s to depends_on)", k, ref.Step, ref.Step)
		}
		if len(ref.Path) > 0 {
			srcSpec, ok := catalog.Lookup(v.p.Steps[src].Action)
			if ok && !hasField(srcSpec, ref.Path[0]) {
				fields := srcSpec.ResultNames()
				v.warnf(at, "input_map.%s: %s results have no field %q%s; they have %s", k, srcSpec.Name, ref.Path[0], suggest(ref.Path[0], fields), strings.Join(fields, ", "))
			}
		}
		if spec != nil {
			v.mapped(s, spec, k, ref, &v.p.Steps[src], at)
		}
	}

	// extensions
	if r := s.Retry; r != nil {
		at := firstPos(s.MaxAttemptsPos, s.RetryPos, s.Pos)
		if r.MaxAttempts < 1 || r.MaxAttempts > MaxAttempts {
			v.errorf(at, "retry.max_attempts is %d: use 1 to %d", r.MaxAttempts, MaxAttempts)
		}
		if r.Backoff < 0 {
			v.errorf(firstPos(s.BackoffPos, s.RetryPos, s.Pos), "retry.backoff is negative (%s): use a duration such as 2s", r.Backoff)
		}
	}
	if s.Timeout < 0 || (s.Timeout == 0 && s.TimeoutPos != (Pos{})) {
		v.errorf(firstPos(s.TimeoutPos, s.Pos), "timeout must be positive, not %s: use a duration such as 10m", s.Timeout)
	}
}

func hasField(a *catalog.Action, name string) bool {
	_, ok := a.Field(name)
	return ok
}

func (v *validator) known(id string) bool {
	_, ok := v.ids[id]
	return ok
}

// action checks the step's action for the mode and returns its spec when the inputs can
// be checked against it.
func (v *validator) action(s *Step) *catalog.Action {
	if s.reported.has(fAction) {
		return nil
	}
	at := firstPos(s.ActionPos, s.Pos)
	spec, ok := catalog.Lookup(s.Action)
	if !ok {
		if s.Action == "" {
			v.errorf(at, "step %s has an empty action: use one of %s", stepName(*s), strings.Join(v.actionNames(), ", "))
			return nil
		}
		var all []string
		for _, a := range catalog.All() {
			all = append(all, a.Name)
		}
		v.errorf(at, "unknown action %q%s", s.Action, suggestOr(s.Action, all, "known actions: "+strings.Join(v.actionNames(), ", ")))
		return nil
	}
	if spec.Local && v.mode == Remote {
		v.errorf(at, "action %s runs only on this machine: the Runs API does not know it (use pi run --local)", s.Action)
	}
	return spec
}

func (v *validator) actionNames() []string {
	var out []string
	for _, a := range catalog.All() {
		if v.mode == Local || !a.Local {
			out = append(out, a.Name)
		}
	}
	return out
}

// cycles reports each dependency cycle once, named from its shortest id (then the
// alphabetically first) so the message is the same whatever the declaration order.
func (v *validator) cycles() {
	for _, path := range v.g.Cycles() {
		names := make([]string, len(path))
		for k, idx := range path {
			names[k] = v.p.Steps[idx].ID
		}
		s := &v.p.Steps[path[0]]
		v.errorf(firstPos(s.IDPos, s.Pos), "dependency cycle: %s (each step depends on the next): remove one of these dependencies", strings.Join(names, " -> "))
	}
}

func (v *validator) params(overrides map[string]string) {
	p := v.p
	defined := make([]string, 0, len(p.Params))
	for name := range p.Params {
		defined = append(defined, name)
	}
	sort.Strings(defined)
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		prm, ok := p.Params[name]
		if !ok {
			v.errorf(Pos{}, "-p %s: the file defines no param %q%s", name, name, suggestOr(name, defined, definedList(defined)))
			continue
		}
		if _, err := overrideValue(name, overrides[name], prm.Value); err != nil {
			v.errorf(prm.Pos, "%v", err)
		}
	}
	uses := p.paramUses
	if uses == nil {
		uses = scanParamUses(p)
	}
	used := map[string]bool{}
	for _, u := range uses {
		used[u.Name] = true
		if _, ok := p.Params[u.Name]; !ok {
			v.errorf(u.Pos, "undefined param %q%s: define it under params: (with a default) or fix the name", u.Name, suggest(u.Name, defined))
		}
	}
	for _, name := range defined {
		if !used[name] {
			v.warnf(p.Params[name].Pos, "param %q is defined but never used: reference it as ${params.%s} in an input, or remove it", name, name)
		}
	}
}

func definedList(names []string) string {
	if len(names) == 0 {
		return "it has no params: section"
	}
	return "it defines " + strings.Join(names, ", ")
}

// scanParamUses finds param references in a pipeline built in code (no positions).
func scanParamUses(p *Pipeline) []paramUse {
	var out []paramUse
	var walk func(x any)
	walk = func(x any) {
		switch t := x.(type) {
		case string:
			for _, m := range paramRefPattern().FindAllStringSubmatch(t, -1) {
				out = append(out, paramUse{Name: m[1]})
			}
		case map[string]any:
			for _, val := range t {
				walk(val)
			}
		case []any:
			for _, val := range t {
				walk(val)
			}
		}
	}
	for i := range p.Steps {
		walk(p.Steps[i].Input)
	}
	return out
}

// suggestOr gives the nearest candidate as a suggestion, else the fallback hint.
func suggestOr(s string, candidates []string, fallback string) string {
	if sug := suggest(s, candidates); sug != "" {
		return sug
	}
	if fallback == "" {
		return ""
	}
	return " (" + fallback + ")"
}

func quoteList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	if len(names) > 8 {
		return strings.Join(names[:8], ", ") + ", ..."
	}
	return strings.Join(names, ", ")
}

func posAt(list []Pos, i int, fallback Pos) Pos {
	if i < len(list) && list[i] != (Pos{}) {
		return list[i]
	}
	return fallback
}

func firstPos(ps ...Pos) Pos {
	for _, p := range ps {
		if p != (Pos{}) {
			return p
		}
	}
	return Pos{}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
