package pipeline

import (
	"fmt"
	"strconv"
)

// problem is a diagnostic before it has a position and a text: where it is as a path, what
// it is as a code, and the format and arguments of its message. Decoding, expansion and
// validation find problems; finish turns them into Diagnostics at the very end.
type problem struct {
	code Code
	sev  Severity
	step int    // index in the parsed pipeline's Steps, -1 when the problem is not in a step
	path string // from the step's top (step >= 0), else from the file's top
	key  bool   // at the key that names the value, not at the value
	pos  Pos    // set by decoding, which knows it: then path only names the place
	// exp is 1 + the index in the validated pipeline of the expansion of a matrix step the
	// problem was found in (0: none). Such problems are attributed and merged (provenance.go).
	exp    int
	format string
	args   []any
}

// stepID is a step id in a message. In a problem found in an expansion, an expansion's id
// is written as its matrix step's id: the problem is shared, and said once, with the ids
// the file itself writes.
type stepID string

// stepName is a step id in a message, quoted, or "without id" when it is empty.
type stepName string

func (n stepName) String() string {
	if n == "" {
		return "without id"
	}
	return strconv.Quote(string(n))
}

// refExpr is an input_map value in a message: $steps.<step>.result[.path], its step
// written as stepID is.
type refExpr struct{ ref Ref }

func (r refExpr) String() string { return refString(r.ref.Step, r.ref.Path) }

// problems collects the problems of one phase, up to maxRecorded.
type problems struct {
	list []problem
	// dropped counts the problems past maxRecorded (droppedErrs the errors among them): a
	// file of a million duplicate keys must not hold a million messages.
	dropped, droppedErrs int
}

// maxRecorded is how many problems one phase records; Capped shows fewer still.
const maxRecorded = 10 * MaxDiagnostics

func (ps *problems) add(p problem) {
	if len(ps.list) >= maxRecorded {
		ps.dropped++
		if p.sev == Error {
			ps.droppedErrs++
		}
		return
	}
	ps.list = append(ps.list, p)
}

// result is the recorded list, ending with a count of what was not recorded.
func (ps *problems) result() []problem {
	if ps.dropped == 0 {
		return ps.list
	}
	sev := Warning
	if ps.droppedErrs > 0 {
		sev = Error
	}
	return append(ps.list, problem{code: CodeNotRecorded, sev: sev, step: -1,
		format: "and %d more problems (%d errors) not recorded", args: []any{ps.dropped, ps.droppedErrs}})
}

// message makes the problem's text; rename, when not nil, says how to write a step id.
func (p *problem) message(rename func(string) string) string {
	if rename == nil {
		return fmt.Sprintf(p.format, p.args...)
	}
	args := make([]any, len(p.args))
	for i, a := range p.args {
		switch t := a.(type) {
		case stepID:
			args[i] = stepID(rename(string(t)))
		case stepName:
			args[i] = stepName(rename(string(t)))
		case refExpr:
			r := t.ref
			r.Step = rename(r.Step)
			args[i] = refExpr{r}
		default:
			args[i] = a
		}
	}
	return fmt.Sprintf(p.format, args...)
}

// finish turns the problems of one file into its diagnostics: each is placed through src
// (paths from steps become "steps.N...", positions come from the side table), those found
// in expansions of a matrix step are attributed and merged (provenance.go), their text is
// made, and the list is sorted. p is the parsed pipeline (for step ids), x the validated
// one and prov how it came from p (nil when it is p). Decoding and expansion may meet one
// node through several aliases: their repeated diagnostics are dropped.
func finish(name string, src *Source, p, x *Pipeline, prov *provenance, decoded, expanded, validated []problem) Diagnostics {
	var out Diagnostics
	for _, list := range [][]problem{decoded, expanded} {
		n := len(out)
		for _, pr := range list {
			out = append(out, placed(name, src, p, pr, pr.message(nil)))
		}
		out = append(out[:n], dedupe(out[n:])...)
	}
	var inExpansions []problem
	for _, pr := range validated {
		if pr.exp > 0 {
			inExpansions = append(inExpansions, pr)
			continue
		}
		out = append(out, placed(name, src, p, pr, pr.message(nil)))
	}
	out = append(out, mergeExpansions(name, src, p, x, prov, inExpansions)...)
	out.Sort()
	return out
}

// placed is the diagnostic of pr, with its text.
func placed(name string, src *Source, p *Pipeline, pr problem, msg string) Diagnostic {
	d := Diagnostic{File: name, Severity: pr.sev, Code: pr.code, Message: msg, Pos: pr.pos}
	if pr.step < 0 {
		d.Path = pr.path
		if pr.pos == (Pos{}) {
			d.Pos = src.locate(pr.path, pr.key)
		}
		return d
	}
	d.Path = joinPath("steps."+strconv.Itoa(src.item(pr.step)), pr.path)
	if p != nil && pr.step < len(p.Steps) {
		d.Step = p.Steps[pr.step].ID
	}
	if pr.pos == (Pos{}) {
		d.Pos = src.stepPos(pr.step, pr.path, pr.key)
	}
	return d
}

// dedupe drops repeated diagnostics: a mapping reached through several aliases is checked
// once per use.
func dedupe(ds Diagnostics) Diagnostics {
	if len(ds) < 2 {
		return ds
	}
	type same struct {
		pos  Pos
		sev  Severity
		code Code
		msg  string
	}
	seen := make(map[same]bool, len(ds))
	out := ds[:0]
	for _, d := range ds {
		k := same{d.Pos, d.Severity, d.Code, d.Message}
		if !seen[k] {
			seen[k] = true
			out = append(out, d)
		}
	}
	return out
}
