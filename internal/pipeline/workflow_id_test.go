package pipeline

import (
	"strings"
	"testing"
)

// A step id that starts with "::" would start a GitHub Actions workflow command wherever
// it begins a line (a table row): it is invalid, as an id with a control character is.
func TestWorkflowCommandIDs(t *testing.T) {
	for _, id := range []string{"::add-mask::main", "'::error::x'", "'\u3000::warning::x'"} {
		src := "steps:\n  - id: " + id + "\n    action: shell.run\n    input: {command: [true]}\n"
		ds := validated(t, src, Local, nil)
		found := false
		for _, d := range ds {
			if d.Severity == Error && d.Code == CodeWorkflowID && strings.Contains(d.Message, "workflow command") {
				found = true
			}
		}
		if !found {
			t.Errorf("id %s: no workflow-command error in %v", id, ds)
		}
	}
	if ds := validated(t, "steps:\n  - id: a::b\n    action: shell.run\n    input: {command: [true]}\n", Local, nil); ds.HasErrors() {
		t.Errorf("a::b is a valid id: %v", ds)
	}
}
