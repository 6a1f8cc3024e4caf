package pipeline

import (
	"regexp"
	"strings"
)

// stepRef is the server's grammar for an input_map value.
var stepRef = lazyRegexp{expr: `^\$steps\.([^.]+)\.result(?:\.(.+))?$`}

func refPattern() *regexp.Regexp { return stepRef.get() }

// Ref is a parsed input_map value: `$steps.<Step>.result[.<Path>]`.
type Ref struct {
	Step string
	// Path is the dotted path split on ".", nil for the whole result.
	Path []string
}

// ParseRef parses an input_map value with the server's grammar.
func ParseRef(s string) (Ref, bool) {
	m := refPattern().FindStringSubmatch(s)
	if m == nil {
		return Ref{}, false
	}
	r := Ref{Step: m[1]}
	if m[2] != "" {
		r.Path = strings.Split(m[2], ".")
	}
	return r, true
}
