package render

import (
	"fmt"
	"strings"

	"github.com/pi-cli/pi/internal/pipeline"
)

// WriteDiagnostics writes pipeline diagnostics on stderr, the one way pi validate, pi run
// and pi graph show them: under GitHub Actions as ::error and ::warning annotations with
// the file, line and column, so they show on the pull request's diff; elsewhere as
// Diagnostics does (src: the file's text for snippets at a terminal; nil: none).
func WriteDiagnostics(ios *IOStreams, ds pipeline.Diagnostics, src []byte) error {
	if len(ds) == 0 {
		return nil
	}
	if ios.inGitHubActions() {
		return ios.WorkflowCommand(DiagnosticAnnotations(ds))
	}
	_, err := fmt.Fprint(ios.ErrOut, Diagnostics(ios, ds, src))
	return err
}

// DiagnosticAnnotations is ds as GitHub Actions workflow commands, one line each:
// `::error file=F,line=L,col=C::message` (`::warning` for a warning; the parts not known
// left out). Properties and messages are escaped by GitHub's rules (ghEscape,
// ghEscapeProp), so no text of the file can end an annotation or start another.
func DiagnosticAnnotations(ds pipeline.Diagnostics) string {
	var b strings.Builder
	for _, d := range ds {
		kind := "error"
		if d.Severity == pipeline.Warning {
			kind = "warning"
		}
		writeAnnotation(&b, kind, annotationPlace{file: d.File, line: d.Pos.Line, col: d.Pos.Column}, "", d.Message)
	}
	return b.String()
}

// annotationPlace is where an annotation points in the repository: a file, and a line
// and column in it when known (0: unknown).
type annotationPlace struct {
	file      string
	line, col int
}

// writeAnnotation writes one ::kind annotation line: its properties (file, line, col,
// title; empty ones left out) escaped as properties, msg as a message.
func writeAnnotation(b *strings.Builder, kind string, at annotationPlace, title, msg string) {
	var props []string
	if at.file != "" {
		props = append(props, "file="+ghEscapeProp(at.file))
		if at.line > 0 {
			props = append(props, fmt.Sprintf("line=%d", at.line))
			if at.col > 0 {
				props = append(props, fmt.Sprintf("col=%d", at.col))
			}
		}
	}
	if title != "" {
		props = append(props, "title="+ghEscapeProp(title))
	}
	b.WriteString("::" + kind)
	if len(props) > 0 {
		b.WriteString(" " + strings.Join(props, ","))
	}
	b.WriteString("::" + ghEscape(msg) + "\n")
}
