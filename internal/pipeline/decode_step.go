package pipeline

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/pi-cli/pi/internal/backoff"
)

// Defaults of a retry block that leaves a field out (DESIGN.md "Engine semantics"): the
// local engine's, which internal/backoff owns.
const (
	DefaultMaxAttempts = backoff.StepAttempts
	DefaultBackoff     = backoff.StepBase
)

// decodeStep decodes the step d.step, the mapping n at the given position, recording
// where each of its values is written.
func (d *decoder) decodeStep(n *yaml.Node, at Pos) Step {
	var s Step
	d.src.record(true, 0, at, Pos{})
	var haveID, haveAction bool
	for _, e := range d.entries(n, 0, 0, false) {
		if !isStepKey(e.key) {
			d.errorf(e.keyPos, CodeUnknownKey, e.key, "unknown step key %q%s: the server would drop it silently", e.key, suggestOr(e.key, stepKeys, "a step has "+strings.Join(stepKeys, ", ")))
			continue
		}
		id := d.child(0, e.key)
		d.src.record(true, id, e.valPos, e.keyPos)
		switch e.key {
		case "id":
			haveID = true
			d.stepID(&s, e)
		case "action":
			haveAction = true
			if !isString(e.val) {
				d.errorf(e.valPos, CodeType, e.key, "action must be a string such as brands.extract, not %s", kindName(e.val))
				d.src.markReported(d.step, fAction)
				continue
			}
			s.Action = e.val.Value
		case "input":
			d.input(&s, e, id)
		case "depends_on":
			d.dependsOn(&s, e, id)
		case "input_map":
			d.inputMap(&s, e, id)
		case "retry":
			d.retry(&s, e, id)
		case "timeout":
			if dur, ok := d.duration(e, "timeout"); ok {
				s.Timeout = dur
			} else {
				d.src.markReported(d.step, fTimeout)
			}
		case "matrix":
			d.matrix(&s, e, id)
		case "cache":
			if e.val.Kind == yaml.ScalarNode && e.val.ShortTag() == "!!bool" {
				on := e.val.Value == "true" || e.val.Value == "True" || e.val.Value == "TRUE"
				s.Cache = &on
			} else {
				d.errorf(e.valPos, CodeType, e.key, "cache must be true or false, not %s", kindName(e.val))
			}
		}
	}
	if !haveID {
		d.errorf(at, CodeMissingID, "", "step has no id: give it one (id: my_step)")
		d.src.markReported(d.step, fID)
	}
	if !haveAction {
		d.errorf(at, CodeMissingAction, "", "step %s has no action: add one (see 'pi actions')", stepName(s.ID))
		d.src.markReported(d.step, fAction)
	}
	return s
}

func isStepKey(k string) bool {
	for _, s := range stepKeys {
		if s == k {
			return true
		}
	}
	return false
}

func (d *decoder) stepID(s *Step, e entry) {
	if !isString(e.val) {
		hint := ""
		if e.val.Kind == yaml.ScalarNode && !isNull(e.val) {
			hint = fmt.Sprintf(": quote it (id: \"%s\")", e.val.Value)
		}
		d.errorf(e.valPos, CodeType, e.key, "id must be a string, not %s%s", kindName(e.val), hint)
		d.src.markReported(d.step, fID)
		return
	}
	s.ID = strings.TrimSpace(e.val.Value) // as the server does
	if s.ID != e.val.Value && s.ID != "" {
		d.warnf(e.valPos, CodeBlanks, e.key, "id %q has blanks around it: the server trims it to %q (write it without them)", e.val.Value, s.ID)
	}
}

func (d *decoder) input(s *Step, e entry, path uint32) {
	if e.val.Kind != yaml.MappingNode {
		d.errorf(e.valPos, CodeType, e.key, "input must be a mapping of input names to values, not %s (write input: {} or leave it out)", kindName(e.val))
		d.src.markReported(d.step, fInput)
		return
	}
	d.inInput, d.refs = true, true
	entries := d.entries(e.val, path, 0, false)
	in := make(map[string]any, len(entries))
	for _, ie := range entries {
		id := d.child(path, ie.key)
		d.src.record(true, id, ie.valPos, ie.keyPos)
		in[ie.key] = d.value(ie.val, ie.valPos, id, 1)
	}
	d.inInput, d.refs = false, false
	s.Input = d.shared(in)
}

// Small inputs are shared: a generated file repeats one input in thousands of steps
// ({command: ["true"]}), and a map costs some 300 bytes however small it is. Nothing
// modifies a step's input once decoded (Step's doc says so).
const (
	maxSharedInputs = 4096 // inputs remembered per file
	maxSharedKey    = 256  // bytes of an input's key
)

// shared returns the input already decoded that equals in, else in.
func (d *decoder) shared(in map[string]any) map[string]any {
	key, ok := inputKey(in)
	if !ok {
		return in
	}
	if m, ok := d.inputs[key]; ok {
		return m
	}
	if d.inputs == nil {
		d.inputs = map[string]map[string]any{}
	}
	if len(d.inputs) < maxSharedInputs {
		d.inputs[key] = in
	}
	return in
}

// inputKey writes a small input of scalars and lists of scalars as a string that only an
// equal input gives (types included); false for any other input.
func inputKey(in map[string]any) (string, bool) {
	if len(in) > 4 {
		return "", false
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(in)) {
		b.WriteString(strconv.Quote(k))
		if !writeScalarKey(&b, in[k]) {
			list, isList := in[k].([]any)
			if !isList || len(list) > 8 {
				return "", false
			}
			b.WriteByte('[')
			for _, v := range list {
				if !writeScalarKey(&b, v) {
					return "", false
				}
			}
			b.WriteByte(']')
		}
		if b.Len() > maxSharedKey {
			return "", false
		}
	}
	return b.String(), true
}

func writeScalarKey(b *strings.Builder, v any) bool {
	switch t := v.(type) {
	case nil:
		b.WriteString("n")
	case string:
		b.WriteString("s" + strconv.Quote(t))
	case bool:
		b.WriteString("b" + strconv.FormatBool(t))
	case int:
		b.WriteString("i" + strconv.Itoa(t))
	case float64:
		b.WriteString("f" + strconv.FormatFloat(t, 'g', -1, 64))
	default:
		return false
	}
	return true
}

func (d *decoder) dependsOn(s *Step, e entry, path uint32) {
	if e.val.Kind != yaml.SequenceNode {
		hint := ""
		if isString(e.val) {
			hint = fmt.Sprintf(": write depends_on: [%s]", e.val.Value)
		}
		d.errorf(e.valPos, CodeType, e.key, "depends_on must be a list of step ids, not %s%s", kindName(e.val), hint)
		d.src.markReported(d.step, fDependsOn)
		return
	}
	// An entry's path is its index in Step.DependsOn, which has only the entries that are
	// ids: "depends_on.1" is the second dependency.
	for j, item := range e.val.Content {
		ri, at := resolve(item), pos(item)
		if ri == nil || !isString(ri) {
			d.errorf(at, CodeType, e.key+"."+strconv.Itoa(j), "depends_on entries must be step ids (strings), not %s", kindName(ri))
			d.src.markReported(d.step, fDependsOn)
			continue
		}
		id := d.child(path, strconv.Itoa(len(s.DependsOn)))
		d.src.record(true, id, at, Pos{})
		dep := strings.TrimSpace(ri.Value) // as the server does
		if dep != ri.Value && dep != "" {
			d.warnf(at, CodeBlanks, d.name(id), "depends_on entry %q has blanks around it: the server trims it to %q (write it without them)", ri.Value, dep)
		}
		s.DependsOn = append(s.DependsOn, dep)
	}
}

func (d *decoder) inputMap(s *Step, e entry, path uint32) {
	if e.val.Kind != yaml.MappingNode {
		d.errorf(e.valPos, CodeType, e.key, "input_map must be a mapping of input names to $steps.<id>.result.<field>, not %s", kindName(e.val))
		d.src.markReported(d.step, fInputMap)
		return
	}
	s.InputMap = map[string]string{}
	for _, me := range d.entries(e.val, path, 0, false) {
		id := d.child(path, me.key)
		if !isString(me.val) {
			d.errorf(me.valPos, CodeType, d.name(id), "input_map.%s must be a string like $steps.<id>.result.<field>, not %s", me.key, kindName(me.val))
			d.src.markReported(d.step, fInputMap)
			continue
		}
		d.src.record(true, id, me.valPos, me.keyPos)
		s.InputMap[me.key] = me.val.Value
	}
}

func (d *decoder) retry(s *Step, e entry, path uint32) {
	if e.val.Kind != yaml.MappingNode {
		d.errorf(e.valPos, CodeType, e.key, "retry must be a mapping {max_attempts: N, backoff: DURATION}, not %s", kindName(e.val))
		return
	}
	r := &Retry{MaxAttempts: DefaultMaxAttempts, Backoff: DefaultBackoff}
	for _, re := range d.entries(e.val, path, 0, false) {
		id := d.child(path, re.key)
		switch re.key {
		case "max_attempts":
			d.src.record(true, id, re.valPos, re.keyPos)
			n, err := strconv.Atoi(re.val.Value)
			if re.val.Kind != yaml.ScalarNode || re.val.ShortTag() != "!!int" || err != nil {
				d.errorf(re.valPos, CodeType, d.name(id), "retry.max_attempts must be a whole number from 1 to 10, not %s", kindName(re.val))
				continue
			}
			r.MaxAttempts = n
		case "backoff":
			d.src.record(true, id, re.valPos, re.keyPos)
			if dur, ok := d.duration(re, "retry.backoff"); ok {
				r.Backoff = dur
			}
		default:
			d.errorf(re.keyPos, CodeUnknownKey, d.name(id), "unknown retry key %q%s: retry has max_attempts and backoff", re.key, suggest(re.key, retryKeys))
		}
	}
	s.Retry = r
}

// duration reads a Go duration ("500ms", "2s", "10m", "1h30m").
func (d *decoder) duration(e entry, field string) (time.Duration, bool) {
	if isString(e.val) {
		if dur, err := time.ParseDuration(e.val.Value); err == nil {
			return dur, true
		}
	}
	d.errorf(e.valPos, CodeType, field, "%s must be a duration such as 30s, 10m or 1h30m, not %s", field, kindName(e.val))
	return 0, false
}
