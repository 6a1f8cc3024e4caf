package safe

import (
	"io"
	"unicode"
	"unicode/utf8"
)

// CommandGuard writes to W so that no line starts a GitHub Actions workflow command. The
// runner reads output a line at a time (a line ends at LF or CR), trims the blanks that
// begin it and obeys a line that then starts with "::" (::add-mask::, ::stop-commands::,
// ::error ...); a line whose first character after its blanks is ':' gets a backslash
// before it. Everything else passes as it is, written as it comes (nothing is held
// back). pi's own workflow commands go through WriteCommand.
type CommandGuard struct {
	W io.Writer
	// On turns the guard on; off, lines are only followed (so that turning it on later
	// knows where a line starts).
	On bool

	mid     bool   // inside a line, past its first character that is not blank
	partial []byte // the first bytes of a character at a line's start, to tell a blank
}

// Write writes p, escaping the lines that would start a workflow command.
func (g *CommandGuard) Write(p []byte) (int, error) {
	var out []byte // p with backslashes inserted; nil while none is needed
	last := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c == '\n' || c == '\r' {
			g.mid, g.partial = false, g.partial[:0]
			continue
		}
		if g.mid {
			// The rest of the line is of no interest: on to its end.
			j := indexLineEnd(p[i:])
			if j < 0 {
				break
			}
			i += j - 1
			continue
		}
		if len(g.partial) > 0 || c >= utf8.RuneSelf {
			g.partial = append(g.partial, c)
			if utf8.FullRune(g.partial) || len(g.partial) == utf8.UTFMax {
				r, _ := utf8.DecodeRune(g.partial)
				g.mid, g.partial = !unicode.IsSpace(r), g.partial[:0]
			}
			continue
		}
		switch {
		case c == ':':
			if g.On {
				out = append(append(out, p[last:i]...), '\\')
				last = i
			}
			g.mid = true
		case c == ' ' || c == '\t' || c == '\v' || c == '\f':
		default:
			g.mid = true
		}
	}
	if out == nil {
		return g.W.Write(p)
	}
	out = append(out, p[last:]...)
	if _, err := g.W.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteCommand writes lines that are meant as workflow commands, past the guard.
func (g *CommandGuard) WriteCommand(p []byte) (int, error) {
	if len(p) > 0 {
		last := p[len(p)-1]
		g.mid, g.partial = last != '\n' && last != '\r', g.partial[:0]
	}
	return g.W.Write(p)
}

func indexLineEnd(p []byte) int {
	for i, c := range p {
		if c == '\n' || c == '\r' {
			return i
		}
	}
	return -1
}
