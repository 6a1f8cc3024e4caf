package pipeline

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/safe"
)

// Mode says who will execute the pipeline, which decides the step limit and the actions
// allowed.
type Mode int

const (
	// Remote is the Runs API: Pi actions only; over 10 steps pi run sends them as
	// several server runs (internal/waves).
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

// validate checks the meaning of the parsed pipeline p, with its Source, for the given
// mode: the step limit, ids, the dependency graph, actions and their inputs, input_map
// references, params and the extensions. overrides are the `-p NAME=VALUE` values (nil for
// none). Matrix steps are checked as the steps they become: it returns the expanded
// pipeline (params not substituted) and every problem of expansion and validation at once,
// sorted by position; it does not repeat what Parse reported.
func validate(p *Pipeline, src *Source, mode Mode, overrides map[string]string) (*Pipeline, Diagnostics) {
	x, ds, _ := validateFor(p, src, Options{Mode: mode, Params: overrides})
	return x, ds
}

// validateFor is validate for what Load was asked (its mode, params, and whether the
// caller checks the step limit); it also returns the graph of the expanded steps it built
// (nil when expansion went over its budget).
func validateFor(p *Pipeline, src *Source, opts Options) (*Pipeline, Diagnostics, *Graph) {
	mode, overrides := opts.Mode, opts.Params
	values := paramValues(p, overrides)
	uses := scanUses(p)
	b := newBudget()
	x, prov, expanded := expand(p, src, values, uses, b)
	if b.spent() {
		// The expansion is not what the file makes: checking it would only mislead.
		return x, finish(p.Name, src, p, x, prov, nil, expanded, nil), nil
	}
	v := &validator{p: x, src: src, prov: prov, g: NewGraph(x), mode: mode, paramValues: values, uses: uses, checking: -1, budget: b}
	v.stepCount()
	v.index()
	for i := range x.Steps {
		v.step(i)
	}
	v.cycles()
	v.params(p, overrides)
	return x, finish(p.Name, src, p, x, prov, nil, expanded, v.probs.result()), v.g
}

// Validate checks a pipeline built in code, or rewritten from a loaded one, as Load checks
// a file (there are no positions to give); params are the -p overrides.
func (p *Pipeline) Validate(mode Mode, params map[string]string) Diagnostics {
	_, ds := validate(p, nil, mode, params)
	return ds
}

type validator struct {
	probs problems
	p     *Pipeline // expanded
	src   *Source
	prov  *provenance // how p came from the parsed pipeline
	g     *Graph      // built once: every graph question of the checks is asked of it
	mode  Mode
	ids   map[string]int // id -> index of its first step
	names []string       // ids in declaration order, for suggestions
	// paramValues are the params' values (defaults, then valid -p overrides) for checking
	// input values as they will be sent.
	paramValues map[string]any
	uses        *refUses
	budget      *budget // what resolving params makes, after expansion (interpolate.go)
	// checking is the step whose checks run, -1 between them: the problems found in an
	// expansion of a matrix step are attributed and merged (provenance.go).
	checking int
}

// at is where a problem is: a path from the top of a step of the parsed pipeline (step >=
// 0) or of the file.
type at struct {
	step int
	path string
	key  bool // the key that names the value, not the value
	pos  Pos  // a position decided without the Source
	exp  int  // 1 + the index of the expansion it was found in, 0: none
}

// stepAt is path in step i of the expanded pipeline.
func (v *validator) stepAt(i int, path string) at {
	a := at{step: v.prov.parsed(i), path: path}
	if i == v.checking && v.prov.expansion(i) != nil {
		a.exp = i + 1
	}
	return a
}

// keyAt is stepAt for the key that names the value at path.
func (v *validator) keyAt(i int, path string) at {
	a := v.stepAt(i, path)
	a.key = true
	return a
}

func fileAt(path string) at { return at{step: -1, path: path} }

func (v *validator) report(sev Severity, a at, code Code, format string, args []any) {
	v.probs.add(problem{code: code, sev: sev, step: a.step, path: a.path, key: a.key, pos: a.pos, exp: a.exp, format: format, args: args})
}

func (v *validator) errorf(a at, code Code, format string, args ...any) {
	v.report(Error, a, code, format, args)
}

func (v *validator) warnf(a at, code Code, format string, args ...any) {
	v.report(Warning, a, code, format, args)
}

// reported reports whether decoding (or expansion) already reported field f of step i.
func (v *validator) reported(i int, f fieldSet) bool {
	if f == fInput && v.prov != nil && v.prov.unchecked[i] {
		return true
	}
	return v.src.wasReported(v.prov.parsed(i), f)
}

// pos is where the value at path of step i is written.
func (v *validator) pos(i int, path string) Pos {
	return v.src.stepPos(v.prov.parsed(i), path, false)
}

func (v *validator) stepCount() {
	n := len(v.p.Steps)
	switch {
	case n == 0 && v.src != nil && v.src.stepsReported:
		// the steps list was already reported as malformed
	case n == 0:
		a := fileAt("steps")
		if v.src.Locate("steps") == (Pos{}) && v.p.Name != "" {
			a.pos = Pos{1, 1}
		}
		v.errorf(a, CodeNoSteps, "no steps: a pipeline needs at least one step (add a steps: list)")
	}
}

func (v *validator) index() {
	v.ids = make(map[string]int, len(v.p.Steps))
	for i := range v.p.Steps {
		s := &v.p.Steps[i]
		if v.reported(i, fID) {
			continue
		}
		a := v.stepAt(i, "id")
		switch n := utf8.RuneCountInString(s.ID); {
		case n == 0:
			v.errorf(a, CodeEmptyID, "step %d has an empty id: give it 1 to %d characters", i+1, MaxIDLength)
			continue
		case n > MaxIDLength:
			v.errorf(a, CodeLongID, "id %q is %d characters long: the server accepts at most %d", truncate(s.ID, 20), n, MaxIDLength)
		case safe.HasControl(s.ID):
			v.errorf(a, CodeControlID, "id %q holds a control character: ids are printed in tables, logs and CI annotations", s.ID)
			continue
		case strings.HasPrefix(strings.TrimLeftFunc(s.ID, unicode.IsSpace), "::"):
			v.errorf(a, CodeWorkflowID, "id %q starts with \"::\", which GitHub Actions reads as a workflow command where it starts a line: choose another id", s.ID)
			continue
		}
		if first, dup := v.ids[s.ID]; dup {
			v.errorf(a, CodeDuplicateID, "duplicate step id %q (also step %d%s): ids must be unique", s.ID, first+1, atLine(v.pos(first, "id")))
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

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "..."
}

// step checks step i: its dependencies, action and input, input_map and extensions.
func (v *validator) step(i int) {
	if v.budget.spent() {
		return // reported once, where it ran out
	}
	v.checking = i
	defer func() { v.checking = -1 }()
	v.dependsOn(i)
	s := &v.p.Steps[i]
	spec := v.action(i)
	if spec != nil {
		v.contract(i, spec)
	}
	forSorted(s.InputMap, func(k string) { v.inputMap(i, k, spec) })
	v.extensions(i)
}

func (v *validator) dependsOn(i int) {
	s := &v.p.Steps[i]
	var seen map[string]bool // only for long lists: a short one is searched
	if len(s.DependsOn) > 16 {
		seen = make(map[string]bool, len(s.DependsOn))
	}
	for j, dep := range s.DependsOn {
		a := v.stepAt(i, "depends_on."+strconv.Itoa(v.prov.dep(i, j)))
		twice := seen[dep]
		if seen == nil {
			twice = slices.Contains(s.DependsOn[:j], dep)
		}
		switch {
		case twice:
			v.errorf(a, CodeDuplicateDep, "%q is listed twice in depends_on: remove one", stepID(dep))
		case dep == s.ID && !v.reported(i, fID):
			v.errorf(a, CodeSelfDep, "step %q depends on itself: remove it from depends_on", stepID(s.ID))
		case !v.known(dep):
			v.errorf(a, CodeUnknownStep, "depends_on: unknown step %q%s", stepID(dep), suggestOr(dep, v.names, "the steps are "+quoteList(v.names)))
		}
		if seen != nil {
			seen[dep] = true
		}
	}
}

// forSorted calls f with the keys of m in order.
func forSorted[V any](m map[string]V, f func(k string)) {
	if len(m) == 1 { // most are: nothing to sort
		for k := range m {
			f(k)
		}
		return
	}
	for _, k := range slices.Sorted(maps.Keys(m)) {
		f(k)
	}
}

// inputMap checks input_map.k of step i (spec is its action's, nil when unknown).
func (v *validator) inputMap(i int, k string, spec *catalog.Action) {
	s := &v.p.Steps[i]
	expr := s.InputMap[k]
	a := v.stepAt(i, "input_map."+k)
	ref, ok := ParseRef(expr)
	if !ok {
		v.errorf(a, CodeRefGrammar, "input_map.%s: %q is not a step reference: write $steps.<id>.result or $steps.<id>.result.<field>", k, expr)
		return
	}
	if ref.Step == s.ID {
		v.errorf(a, CodeRefSelf, "input_map.%s refers to the step itself: a step cannot use its own result", k)
		return
	}
	src, known := v.ids[ref.Step]
	if !known {
		v.errorf(a, CodeUnknownStep, "input_map.%s refers to unknown step %q%s", k, stepID(ref.Step), suggestOr(ref.Step, v.names, ""))
		return
	}
	if !v.g.Ancestor(i, src) {
		v.errorf(a, CodeRefNotAncestor, "input_map.%s refers to step %q which is not in depends_on (add %s to depends_on)", k, stepID(ref.Step), stepID(ref.Step))
	}
	if len(ref.Path) > 0 {
		srcSpec, ok := catalog.Lookup(v.p.Steps[src].Action)
		if ok && !hasField(srcSpec, ref.Path[0]) {
			fields := srcSpec.ResultNames()
			// The server maps a field that does not exist to nothing: the input is then
			// absent, and the step fails after the steps before it were paid for.
			v.errorf(a, CodeRefField, "input_map.%s: %s results have no field %q%s; they have %s", k, srcSpec.Name, ref.Path[0], suggest(ref.Path[0], fields), strings.Join(fields, ", "))
		}
	}
	if spec != nil {
		v.mapped(i, spec, k, ref, &v.p.Steps[src], a)
	}
}

// extensions checks the retry and timeout of step i.
func (v *validator) extensions(i int) {
	s := &v.p.Steps[i]
	if r := s.Retry; r != nil {
		if r.MaxAttempts < 1 || r.MaxAttempts > MaxAttempts {
			v.errorf(v.stepAt(i, "retry.max_attempts"), CodeRetry, "retry.max_attempts is %d: use 1 to %d", r.MaxAttempts, MaxAttempts)
		}
		if r.Backoff < 0 {
			v.errorf(v.stepAt(i, "retry.backoff"), CodeRetry, "retry.backoff is negative (%s): use a duration such as 2s", r.Backoff)
		}
	}
	written := v.src.known(v.prov.parsed(i), "timeout") && !v.reported(i, fTimeout)
	if s.Timeout < 0 || (s.Timeout == 0 && written) {
		v.errorf(v.stepAt(i, "timeout"), CodeTimeout, "timeout must be positive, not %s: use a duration such as 10m", s.Timeout)
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

// action checks the action of step i for the mode and returns its spec when the inputs
// can be checked against it.
func (v *validator) action(i int) *catalog.Action {
	s := &v.p.Steps[i]
	if v.reported(i, fAction) {
		return nil
	}
	a := v.stepAt(i, "action")
	spec, ok := catalog.Lookup(s.Action)
	if !ok {
		if s.Action == "" {
			v.errorf(a, CodeEmptyAction, "step %s has an empty action: use one of %s", stepName(s.ID), strings.Join(v.actionNames(), ", "))
			return nil
		}
		var all []string
		for _, a := range catalog.All() {
			all = append(all, a.Name)
		}
		v.errorf(a, CodeUnknownAction, "unknown action %q%s", s.Action, suggestOr(s.Action, all, "known actions: "+strings.Join(v.actionNames(), ", ")))
		return nil
	}
	if spec.Local && v.mode == Remote {
		v.errorf(a, CodeLocalAction, "action %s runs only on this machine: the Runs API does not know it (use pi run --local)", s.Action)
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
		v.errorf(v.stepAt(path[0], "id"), CodeCycle, "dependency cycle: %s (each step depends on the next): remove one of these dependencies", strings.Join(names, " -> "))
	}
}

// params checks the -p overrides against the params of the parsed pipeline p, and its
// ${params.NAME} references.
func (v *validator) params(p *Pipeline, overrides map[string]string) {
	defined := slices.Sorted(maps.Keys(p.Params))
	for _, name := range slices.Sorted(maps.Keys(overrides)) {
		prm, ok := p.Params[name]
		if !ok {
			v.errorf(fileAt(""), CodeParamUnknown, "-p %s: the file defines no param %q%s", name, name, suggestOr(name, defined, definedList(defined)))
			continue
		}
		if _, err := overrideValue(name, overrides[name], prm.Value); err != nil {
			v.errorf(at{step: -1, path: "params." + name, key: true}, CodeParamOverride, "%v", err)
		}
	}
	used := map[string]bool{}
	for _, u := range v.uses.params {
		used[u.ref.name] = true
		if _, ok := p.Params[u.ref.name]; !ok {
			v.errorf(at{step: u.step, path: u.path}, CodeParamUndefined, "undefined param %q%s: define it under params: (with a default) or fix the name", u.ref.name, suggest(u.ref.name, defined))
		}
	}
	for _, name := range defined {
		if !used[name] {
			v.warnf(at{step: -1, path: "params." + name, key: true}, CodeParamUnused, "param %q is defined but never used: reference it as ${params.%s} in an input, or remove it", name, name)
		}
	}
}

func definedList(names []string) string {
	if len(names) == 0 {
		return "it has no params: section"
	}
	return "it defines " + strings.Join(names, ", ")
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
