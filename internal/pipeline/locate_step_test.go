package pipeline

import (
	"os"
	"path/filepath"
	"testing"
)

// StepLocator finds each step of a loaded pipeline in its file, an expansion at its
// matrix step, for the annotation of a failed step under GitHub Actions.
func TestStepLocator(t *testing.T) {
	text := `steps:
  - id: hello
    action: shell.run
    input: { command: [echo, hi] }
  - action: shell.run
    id: "greet"
    depends_on: [hello]
    matrix:
      who: [ann, bob]
    input: { command: [echo, "${matrix.who}"] }
  - id: bye
    action: shell.run
    depends_on: [greet]
    input: { command: [echo, bye] }
`
	path := filepath.Join(t.TempDir(), "p.yaml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p, src, ds, err := Load(path, Options{Mode: Local})
	if err != nil || p == nil {
		t.Fatalf("load: %v %v", err, ds)
	}
	at := src.StepLocator(p)
	want := map[string]Pos{"hello": {2, 9}, "bye": {11, 9}}
	for _, s := range p.Steps {
		if s.Origin != nil {
			want[s.ID] = Pos{6, 9}
		}
	}
	if len(want) != 4 {
		t.Fatalf("steps %+v: want 2 expansions", p.Steps)
	}
	for id, pos := range want {
		if got := at(id); got != pos {
			t.Errorf("step %s at %v, want %v", id, got, pos)
		}
	}
	if got := at("nosuch"); got != (Pos{}) {
		t.Errorf("unknown step at %v", got)
	}
	// Steps that are not the file's, in its order: no position rather than a wrong one.
	p.Steps[0], p.Steps[len(p.Steps)-1] = p.Steps[len(p.Steps)-1], p.Steps[0]
	if got := src.StepLocator(p)("bye"); got != (Pos{}) {
		t.Errorf("steps out of order: bye at %v, want none", got)
	}
}
