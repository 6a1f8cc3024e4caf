package render

import (
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/pipeline"
)

// annotated are diagnostics whose file names and messages hold every character GitHub's
// workflow-command rules escape (actions/toolkit packages/core/src/command.ts: % CR LF in
// the message, and also : , in properties), and a line that would start a command of its
// own.
func annotated() pipeline.Diagnostics {
	return pipeline.Diagnostics{
		{File: "ci/a,b:c.yaml", Pos: pipeline.Pos{Line: 14, Column: 7}, Severity: pipeline.Error,
			Message: `input_map.brand_id refers to step "extract" which is not in depends_on (add it)`},
		{File: "p.yaml", Pos: pipeline.Pos{Line: 3, Column: 19}, Severity: pipeline.Error,
			Message: "resolution: \"2k\" is not one of 1K, 2K, 4K: 100% wrong\r\n::add-mask::x, y: z \x1b[31m"},
		{File: "p.yaml", Pos: pipeline.Pos{Line: 9, Column: 3}, Severity: pipeline.Warning, Message: "param \"unused\" is defined but never used"},
		{File: "p.yaml", Severity: pipeline.Error, Message: "no such file: check the path"},
		{Severity: pipeline.Error, Message: "no position at all"},
	}
}

func TestDiagnosticAnnotationsGolden(t *testing.T) {
	got := DiagnosticAnnotations(annotated())
	golden(t, "annotations-validate.txt", []byte(got))
	for i, line := range strings.Split(strings.TrimSuffix(got, "\n"), "\n") {
		if !strings.HasPrefix(line, "::error") && !strings.HasPrefix(line, "::warning") {
			t.Errorf("line %d is no annotation: %q", i+1, line)
		}
		if strings.ContainsAny(line, "\r\x1b") {
			t.Errorf("line %d holds a raw control character: %q", i+1, line)
		}
	}
	if n := strings.Count(got, "\n"); n != len(annotated()) {
		t.Errorf("%d lines for %d diagnostics: a message broke its line", n, len(annotated()))
	}
}

// Under GitHub Actions the annotations pass the guard that prefixes a backslash to any
// other line starting "::"; elsewhere the diagnostics are the usual lines.
func TestWriteDiagnostics(t *testing.T) {
	for _, gha := range []bool{true, false} {
		ios, _, _, errOut := Test()
		ios.SetGetenv(func(k string) string {
			if k == "GITHUB_ACTIONS" && gha {
				return "true"
			}
			return ""
		})
		if err := WriteDiagnostics(ios, annotated()[:1], nil); err != nil {
			t.Fatal(err)
		}
		want := `ci/a,b:c.yaml:14:7: input_map.brand_id`
		if gha {
			want = "::error file=ci/a%2Cb%3Ac.yaml,line=14,col=7::input_map.brand_id"
		}
		if !strings.HasPrefix(errOut.String(), want) {
			t.Errorf("GITHUB_ACTIONS=%v: stderr %q, want it to start %q", gha, errOut, want)
		}
	}
}
