package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/pi-cli/pi/internal/catalog"
)

// contract checks a step's input against its action's contract (catalog.Check), as the
// server will when it creates the step's job in the middle of a run. Params are
// substituted first (defaults and -p values); a key that input_map supplies, or a param
// without a value, is known only at run time: it counts as given and is not checked.
// Each issue is reported at the offending value, else at its input key, else at the
// step's `input:` key, else at the step.
func (v *validator) contract(s *Step, a *catalog.Action) {
	if s.reported.has(fInput) {
		return
	}
	input := make(map[string]any, len(s.Input)+len(s.InputMap))
	from := map[string]string{}
	for k, val := range s.Input {
		if str, ok := val.(string); ok && strings.Contains(str, "${params.") {
			from[k] = str
		}
		input[k] = v.resolveParams(val)
	}
	for k := range s.InputMap {
		input[k] = catalog.Unknown{}
	}
	at := firstPos(s.InputNamePos, s.Pos)
	var missing []string
	for _, is := range catalog.Check(a.Name, input) {
		key, _ := is.Path[0].(string)
		if is.Missing() && len(is.Path) == 1 {
			missing = append(missing, key)
			continue
		}
		if g, ok := a.InGroup(key); ok && is.Code == "custom" && is.Message == g.Message() {
			if !s.reported.has(fInputMap) {
				v.group(s, a, g, at)
			}
			continue
		}
		path := is.PathString()
		suffix := ""
		if f, ok := from[key]; ok {
			suffix = fmt.Sprintf(" (from %q)", f)
		}
		v.errorf(v.valuePos(s, is.Path, at), "input.%s of %s: %s%s", path, a.Name, is.Message, suffix)
	}
	if len(missing) > 0 && !s.reported.has(fInputMap) {
		v.errorf(at, "step %q: %s needs input %s (in input, or supplied by input_map)", s.ID, a.Name, strings.Join(missing, " and "))
	}
	v.unknownKeys(s, a, at)
}

// group reports a broken exactly-one-of or at-least-one-of rule, at the value the server
// reports it on when the step has one.
func (v *validator) group(s *Step, a *catalog.Action, g *catalog.Group, at Pos) {
	var given []string
	for _, k := range g.Inputs {
		if val, ok := s.Input[k]; ok && val != nil {
			if l, isList := val.([]any); !isList || len(l) > 0 {
				given = append(given, k)
			}
			continue
		}
		if _, ok := s.InputMap[k]; ok {
			given = append(given, k)
		}
	}
	names := strings.Join(g.Inputs, ", ")
	switch {
	case len(given) == 0 && !g.Exactly:
		v.errorf(at, "step %q: %s needs at least one of %s", s.ID, a.Name, names)
	case len(given) == 0:
		v.errorf(at, "step %q: %s needs exactly one of %s", s.ID, a.Name, names)
	default:
		v.errorf(v.inputPos(s, g.Path, at), "step %q: %s takes exactly one of %s, got %s (remove all but one)", s.ID, a.Name, names, strings.Join(given, " and "))
	}
}

// valuePos is where the value at path is written: the innermost value with a known
// position, or the input_map entry that supplies its key.
func (v *validator) valuePos(s *Step, path []any, fallback Pos) Pos {
	for n := len(path); n > 0; n-- {
		if p, ok := s.InputValuePos[catalog.JoinPath(path[:n])]; ok && p != (Pos{}) {
			return p
		}
	}
	key, _ := path[0].(string)
	return v.inputPos(s, key, fallback)
}

func (v *validator) inputPos(s *Step, key string, fallback Pos) Pos {
	return firstPos(s.InputValuePos[key], s.InputMapPos[key], s.InputKeyPos[key], fallback)
}

// resolveParams substitutes the params in a value; a reference to a param without a value
// (reported on its own) becomes catalog.Unknown.
func (v *validator) resolveParams(x any) any {
	switch t := x.(type) {
	case string:
		if !strings.Contains(t, "${params.") {
			return t
		}
		var missing []string
		out := substitute(t, v.paramValues, &missing)
		if str, isStr := out.(string); len(missing) > 0 || (isStr && strings.Contains(str, "${params.")) {
			return catalog.Unknown{} // reported as an undefined or malformed param
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			out[k] = v.resolveParams(val)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, val := range t {
			out[i] = v.resolveParams(val)
		}
		return out
	}
	return x
}

// unknownKeys warns about keys the server drops without a word: unknown inputs, and
// unknown keys of the objects it knows the fields of (output, location).
func (v *validator) unknownKeys(s *Step, a *catalog.Action, at Pos) {
	known := a.InputNames()
	for _, k := range slices.Sorted(maps.Keys(s.Input)) {
		if _, ok := a.Input(k); ok {
			if in, _ := a.Input(k); in.Fields != nil {
				v.unknownFields(s, a, k, in.Fields, s.Input[k])
			}
			continue
		}
		kp := firstPos(s.InputKeyPos[k], at)
		if why, dropped := a.DropReason(k); dropped {
			v.warnf(kp, "%s has no input %q: the server drops it (%s)", a.Name, k, why)
			continue
		}
		v.warnf(kp, "%s has no input %q%s: the server drops it (inputs: %s)", a.Name, k, suggest(k, known), strings.Join(known, ", "))
	}
	for _, k := range slices.Sorted(maps.Keys(s.InputMap)) {
		if _, ok := a.Input(k); !ok {
			v.warnf(firstPos(s.InputMapKeyPos[k], s.InputMapPos[k], at), "input_map.%s: %s has no input %q%s: the server drops it", k, a.Name, k, suggest(k, known))
		}
	}
}

func (v *validator) unknownFields(s *Step, a *catalog.Action, path string, fields []catalog.Input, val any) {
	obj, ok := val.(map[string]any)
	if !ok {
		return
	}
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.Name
	}
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		if !contains(names, k) {
			v.warnf(firstPos(s.InputValuePos[path+"."+k], s.InputKeyPos[path]), "input.%s of %s has no key %q%s: the server drops it (keys: %s)", path, a.Name, k, suggest(k, names), strings.Join(names, ", "))
		}
	}
}

// mapped checks what an input_map entry connects: the kind of the result field against
// the kind of the input, and a source_job_id against the job types the action accepts.
func (v *validator) mapped(s *Step, a *catalog.Action, key string, ref Ref, src *Step, at Pos) {
	srcAction, ok := catalog.Lookup(src.Action)
	if !ok {
		return
	}
	to, ok := a.Input(key)
	if !ok {
		return
	}
	if key == "source_job_id" && len(a.SourceJobTypes) > 0 && srcAction.JobType != "" && !a.AcceptsSource(srcAction.JobType) {
		v.errorf(at, "input_map.source_job_id: %s needs a %s job; step %s is %s (take the job of such a step)", a.Name, sourceNames(a), src.ID, src.Action)
		return
	}
	kind := catalog.Object // the whole result
	switch {
	case len(ref.Path) > 1:
		return // inside a field: known only at run time
	case len(ref.Path) == 1:
		f, ok := srcAction.Field(ref.Path[0])
		if !ok {
			return // warned about: no such field
		}
		kind = f.Kind
	}
	switch {
	case catalog.Accepts(to, kind):
	case srcAction.Local && kind == catalog.String && to.Kind == catalog.UUID:
		// a local step's text may hold an id (stdout of a script): only the server can tell
		v.warnf(at, "input_map.%s: %s takes a uuid, and %s is any string: the server refuses it unless it is exactly a uuid (no newline)", key, key, s.InputMap[key])
	default:
		v.errorf(at, "input_map.%s: %s takes %s, but %s is %s", key, key, catalog.KindName(to.Kind), s.InputMap[key], catalog.KindName(kind))
	}
}

// sourceNames names the actions whose jobs can be a source: "generate or edit".
func sourceNames(a *catalog.Action) string {
	var names []string
	for _, t := range a.SourceJobTypes {
		if src, ok := catalog.ByJobType(t); ok {
			names = append(names, src.Name[strings.LastIndex(src.Name, ".")+1:])
		}
	}
	return strings.Join(names, " or ")
}
