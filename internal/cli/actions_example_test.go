package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/catalog"
)

// TestActionExamplesValidate: the example `pi actions NAME` ends with is a pipeline that
// pi validate accepts with neither error nor warning, for every action of the catalog
// (for the Runs API, or --local for a local action), and it uses the action.
func TestActionExamplesValidate(t *testing.T) {
	for _, a := range catalog.All() {
		t.Run(a.Name, func(t *testing.T) {
			example := actionExample(a)
			if !strings.Contains(example, "action: "+a.Name+"\n") {
				t.Fatalf("the example does not use %s:\n%s", a.Name, example)
			}
			path := filepath.Join(t.TempDir(), "example.yaml")
			if err := os.WriteFile(path, []byte(example), 0o644); err != nil {
				t.Fatal(err)
			}
			args := []string{"validate", path}
			if a.Local {
				args = append(args, "--local")
			}
			f, _, errOut := testFactory()
			if code := Execute(context.Background(), f, args); code != ExitOK || strings.Contains(errOut.String(), "warning") {
				t.Errorf("pi %s: exit %d\n%s\n%s", strings.Join(args, " "), code, errOut, example)
			}
		})
	}
}

// TestShowActionEndsWithExample: the example closes `pi actions NAME`, indented as a block.
func TestShowActionEndsWithExample(t *testing.T) {
	a, _ := catalog.Lookup("campaigns.generate")
	text := showAction(a, 80)
	i := strings.LastIndex(text, "\nExample:\n")
	if i < 0 {
		t.Fatalf("no example in:\n%s", text)
	}
	block := text[i+len("\nExample:\n"):]
	want := "  " + strings.ReplaceAll(strings.TrimSuffix(actionExample(a), "\n"), "\n", "\n  ") + "\n"
	if block != want {
		t.Errorf("example block:\n%s\nwant:\n%s", block, want)
	}
}
