package catalog

import (
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the action tables of docs/actions.md")

const (
	actionsDoc = "../../docs/actions.md"
	beginMark  = "<!-- actions: generated from internal/catalog; go test ./internal/catalog -update -->\n"
	endMark    = "<!-- actions: end -->\n"
)

// TestActionTables: the action tables of docs/actions.md say exactly what the catalog says.
func TestActionTables(t *testing.T) {
	data, err := os.ReadFile(actionsDoc)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i, j := strings.Index(s, beginMark), strings.Index(s, endMark)
	if i < 0 || j < i {
		t.Fatalf("docs/actions.md has no %q ... %q section", beginMark, endMark)
	}
	got := s[i+len(beginMark) : j]
	if want := markdown(); got != want {
		if *update {
			if err := os.WriteFile(actionsDoc, []byte(s[:i+len(beginMark)]+want+s[j:]), 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
		t.Errorf("docs/actions.md's action tables differ from the catalog: run go test ./internal/catalog -update")
	}
}
