package render

import (
	"strings"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/safe"
)

// Diagnostics writes pipeline diagnostics for people, the one way pi validate, pi run and
// pi graph show them: one line each (file:line:col: message), and at a terminal in colour
// with the source line and a caret under it (src is the file's text; nil: no snippets).
func Diagnostics(ios *IOStreams, ds pipeline.Diagnostics, src []byte) string {
	if len(ds) == 0 {
		return "" // a valid file builds no colour profile
	}
	st := newStyles(ios.ErrOut, ios.ErrColorEnabled(), ios.Getenv)
	snippets := ios.IsStderrTTY() && src != nil
	var b strings.Builder
	for _, d := range ds {
		// the file's name and the message quote the file: escaped like all untrusted text
		loc, msg := splitLocation(d.String(), d)
		loc, msg = safe.Lines(loc), safe.Lines(msg)
		line := loc + msg
		if st.color {
			style := st.fail
			if d.Severity == pipeline.Warning {
				style = st.warn
			}
			line = st.paint(st.bold, loc) + st.paint(style, msg)
		}
		b.WriteString(line + "\n")
		if snippets {
			snip := safe.Lines(d.Snippet(src))
			if st.color && snip != "" {
				// the caret line in the diagnostic's colour
				lines := strings.SplitAfter(snip, "\n")
				if len(lines) >= 2 {
					style := st.fail
					if d.Severity == pipeline.Warning {
						style = st.warn
					}
					caret := strings.TrimSuffix(lines[1], "\n")
					if i := strings.IndexByte(caret, '^'); i >= 0 {
						lines[1] = caret[:i] + st.paint(style, "^") + "\n"
					}
					snip = strings.Join(lines, "")
				}
			}
			b.WriteString(snip)
		}
	}
	return b.String()
}

// splitLocation cuts "file:1:2: message" after the location.
func splitLocation(line string, d pipeline.Diagnostic) (string, string) {
	n := 0
	if d.File != "" {
		n = len(d.File) + 1
	}
	if d.Pos.Line > 0 {
		if i := strings.Index(line[n:], ": "); i >= 0 {
			n += i + 1
		}
	}
	if n > 0 && n < len(line) && line[n] == ' ' {
		n++
	}
	return line[:n], line[n:]
}
