package pipeline

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// mergeBomb is a file whose anchor a(k) merges a(k-1) ten times, for k up to levels, and
// whose step input uses the last: 10^levels merged entries for a file of under 1 KB.
func mergeBomb(levels int) string {
	var b strings.Builder
	b.WriteString("x-a0: &a0 {k0: 0, k1: 1, k2: 2}\n")
	for k := 1; k <= levels; k++ {
		prev := strings.TrimSuffix(strings.Repeat(fmt.Sprintf("*a%d, ", k-1), 10), ", ")
		fmt.Fprintf(&b, "x-a%d: &a%d {<<: [%s], x%d: 1}\n", k, k, prev, k)
	}
	fmt.Fprintf(&b, "steps:\n  - id: s\n    action: shell.run\n    input:\n      command: [echo]\n      env: *a%d\n", levels)
	return b.String()
}

// Entries a merge key copies count against the values decoding may make, as aliases do:
// merges of merges are refused at the merge key, where they made pi validate run for
// minutes before (issue 21, item 4: 51 s at 655 bytes, over 120 s at 722).
func TestMergeKeyBomb(t *testing.T) {
	for _, levels := range []int{8, 12} {
		t.Run(fmt.Sprint(levels, " levels"), func(t *testing.T) {
			file := mergeBomb(levels)
			line := strings.Split(file, "\n")[levels]
			want := Pos{Line: levels + 1, Column: strings.Index(line, "<<") + 1}
			p, _, ds := Parse("bomb.yaml", []byte(file))
			var errs []Diagnostic
			for _, d := range ds {
				if d.Severity == Error {
					errs = append(errs, d)
				}
			}
			if len(errs) != 1 || errs[0].Code != CodeTooBig || errs[0].Pos != want || errs[0].Step != "s" {
				t.Fatalf("%d bytes: errors %v, want one %s at the merge key of a%d (line %d)", len(file), errs, CodeTooBig, levels, levels+1)
			}
			if !strings.Contains(errs[0].Message, "merge key (<<)") {
				t.Errorf("message %q does not name the merge key", errs[0].Message)
			}
			if p == nil {
				t.Fatal("no pipeline: the rest of the file is still read")
			}
		})
	}
}

// Merge keys as people use them still work: defaults under x-* merged into many steps, a
// list of merges (the first wins), explicit keys over merged ones, and a small tree of
// merges of merges.
func TestMergeKeysStillWork(t *testing.T) {
	var b strings.Builder
	b.WriteString("x-base: &base {action: shell.run, timeout: 30s}\n")
	b.WriteString("x-retry: &retry {retry: {max_attempts: 3}, timeout: 10s}\n")
	b.WriteString("x-env: &env {A: a, B: b}\n")
	b.WriteString("x-env2: &env2 {<<: [*env, *env], C: c}\n")
	b.WriteString("x-env3: &env3 {<<: [*env2, *env2, *env2], D: d}\n")
	b.WriteString("steps:\n")
	for i := range 2000 {
		fmt.Fprintf(&b, "  - id: s%d\n    <<: [*base, *retry]\n    input: {command: [echo], env: {<<: *env3, B: own}}\n", i)
	}
	p, _, ds := Parse("ok.yaml", []byte(b.String()))
	if ds.HasErrors() || p == nil || len(p.Steps) != 2000 {
		t.Fatalf("%v", ds.Capped())
	}
	s := p.Steps[1999]
	env, _ := s.Input["env"].(map[string]any)
	if s.Action != "shell.run" || s.Timeout != 30*time.Second || s.Retry == nil || fmt.Sprint(env) != "map[A:a B:own C:c D:d]" {
		t.Fatalf("step %+v, env %v", s, env)
	}
}
