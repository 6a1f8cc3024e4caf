package pipeline

import "strings"

// StepRefPattern is the server's grammar for an input_map value (PI-API.md, "input_map"),
// as the JSON Schema states it; ParseRef reads it by hand (TestParseRefMatchesPattern), so
// that checking a file compiles no regular expression.
const StepRefPattern = `^\$steps\.([^.]+)\.result(?:\.(.+))?$`

// Ref is a parsed input_map value: `$steps.<Step>.result[.<Path>]`.
type Ref struct {
	Step string
	// Path is the dotted path split on ".", nil for the whole result.
	Path []string
}

// ParseRef parses an input_map value with the server's grammar: "$steps.", a step id of
// one or more characters other than ".", ".result", then nothing or "." and a path of one
// or more characters other than a newline.
func ParseRef(s string) (Ref, bool) {
	rest, ok := strings.CutPrefix(s, "$steps.")
	if !ok {
		return Ref{}, false
	}
	dot := strings.IndexByte(rest, '.')
	if dot <= 0 {
		return Ref{}, false
	}
	r := Ref{Step: rest[:dot]}
	if rest, ok = strings.CutPrefix(rest[dot:], ".result"); !ok {
		return Ref{}, false
	}
	if rest == "" {
		return r, true
	}
	path, ok := strings.CutPrefix(rest, ".")
	if !ok || path == "" || strings.IndexByte(path, '\n') >= 0 {
		return Ref{}, false
	}
	r.Path = strings.Split(path, ".")
	return r, true
}
