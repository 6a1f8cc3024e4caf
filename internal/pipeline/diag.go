package pipeline

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/pi-cli/pi/internal/spell"
)

// Severity says whether a diagnostic makes the file invalid.
type Severity int

const (
	// Error makes the file invalid: pi refuses to run it.
	Error Severity = iota
	// Warning is printed but does not fail validation.
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// MarshalText makes a Severity "error" or "warning" in JSON.
func (s Severity) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Diagnostic is one problem found in a pipeline file, at a position when one is known.
// Code says what kind of problem it is, Step which step it is in and Path where in the
// file, for tools; Message says it for people.
type Diagnostic struct {
	File     string
	Pos      Pos
	Severity Severity
	Code     Code
	// Step is the id of the step the problem is in ("" for the file, or a step without
	// id); for a problem every expansion of a matrix step shares, the matrix step's.
	Step string
	// Path is where the problem is, from the top of the file: "steps.3.input.prompt",
	// "params.url", "" for the file as a whole (Source.Locate gives its position).
	Path    string
	Message string
}

// String formats the diagnostic as compilers do: `file:line:col: message`, with
// `warning: ` before the message of a warning. Unknown parts are left out.
func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		b.WriteString(":")
	}
	if d.Pos.Line > 0 {
		fmt.Fprintf(&b, "%d:%d:", d.Pos.Line, d.Pos.Column)
	}
	if b.Len() > 0 {
		b.WriteString(" ")
	}
	if d.Severity == Warning {
		b.WriteString("warning: ")
	}
	b.WriteString(d.Message)
	return b.String()
}

// MarshalJSON gives the `pi validate -o json` form: {file, line, column, severity, code,
// step, path, message}.
func (d Diagnostic) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		File     string   `json:"file"`
		Line     int      `json:"line"`
		Column   int      `json:"column"`
		Severity Severity `json:"severity"`
		Code     Code     `json:"code"`
		Step     string   `json:"step"`
		Path     string   `json:"path"`
		Message  string   `json:"message"`
	}{d.File, d.Pos.Line, d.Pos.Column, d.Severity, d.Code, d.Step, d.Path, d.Message})
}

// Diagnostics is a list of diagnostics, usually of one file.
type Diagnostics []Diagnostic

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// StructureSound reports whether every error of ds is in a step's inputs (Code.InStep):
// the steps, their dependencies and references are as the file means them.
func (ds Diagnostics) StructureSound() bool {
	for _, d := range ds {
		if d.Severity == Error && !d.Code.InStep() {
			return false
		}
	}
	return true
}

// Strict makes every warning an error in place (--strict, strict: true in the config) and
// returns ds.
func (ds Diagnostics) Strict() Diagnostics {
	for i := range ds {
		if ds[i].Severity == Warning {
			ds[i].Severity = Error
		}
	}
	return ds
}

// Errors returns only the errors.
func (ds Diagnostics) Errors() Diagnostics {
	var out Diagnostics
	for _, d := range ds {
		if d.Severity == Error {
			out = append(out, d)
		}
	}
	return out
}

// Sort orders the diagnostics by file, line and column (unknown positions first), then
// errors before warnings, then by message, so output is stable.
func (ds Diagnostics) Sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Column != b.Pos.Column {
			return a.Pos.Column < b.Pos.Column
		}
		if a.Severity != b.Severity {
			return a.Severity < b.Severity
		}
		return a.Message < b.Message
	})
}

// Error joins the diagnostics, one per line, so a Diagnostics can be returned as an error.
func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// suggest returns ` (did you mean "x"?)` for the candidate nearest to s, or "" when none is
// near enough to be a plausible typo.
func suggest(s string, candidates []string) string {
	if best := spell.Nearest(s, candidates); best != "" {
		return fmt.Sprintf(" (did you mean %q?)", best)
	}
	return ""
}

// Snippet returns the source line of the diagnostic with a caret under its column, for
// people at a terminal:
//
//	5 |   - depends: [extract]
//	  |     ^
//
// It returns "" when the position is unknown or outside src.
func (d Diagnostic) Snippet(src []byte) string {
	lines := splitLines(src)
	if d.Pos.Line < 1 || d.Pos.Line > len(lines) {
		return ""
	}
	line := []rune(string(lines[d.Pos.Line-1]))
	col := d.Pos.Column - 1
	if col < 0 || col > len(line) {
		return ""
	}
	// Keep tabs so the caret lines up with what the terminal shows.
	pad := make([]rune, col)
	for i := range pad {
		pad[i] = ' '
		if line[i] == '\t' {
			pad[i] = '\t'
		}
	}
	num := strconv.Itoa(d.Pos.Line)
	gutter := strings.Repeat(" ", len(num))
	return fmt.Sprintf(" %s | %s\n %s | %s^\n", num, string(line), gutter, string(pad))
}
