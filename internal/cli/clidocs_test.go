package cli

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/spf13/cobra/doc"

	"github.com/pi-cli/pi/internal/render"
)

const cliDocsDir = "../../docs/cli"

// TestCLIDocs: docs/cli holds one page per command, generated from the command tree (cobra's
// doc package), so the manual says what `pi help COMMAND` says. A stale or extra page fails;
// `go test ./internal/cli -run TestCLIDocs -update` rewrites them.
func TestCLIDocs(t *testing.T) {
	want := generateCLIDocs(t)
	if *update {
		old, _ := filepath.Glob(filepath.Join(cliDocsDir, "pi*.md"))
		for _, f := range old {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.MkdirAll(cliDocsDir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, text := range want {
			if err := os.WriteFile(filepath.Join(cliDocsDir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return
	}
	have, _ := filepath.Glob(filepath.Join(cliDocsDir, "pi*.md"))
	for _, f := range have {
		if _, ok := want[filepath.Base(f)]; !ok {
			t.Errorf("%s documents no command: run go test ./internal/cli -run TestCLIDocs -update", f)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		got, err := os.ReadFile(filepath.Join(cliDocsDir, name))
		if err != nil || string(got) != want[name] {
			t.Errorf("docs/cli/%s is stale: run go test ./internal/cli -run TestCLIDocs -update", name)
		}
	}
}

// generateCLIDocs renders every command's page in memory, keyed by file name.
func generateCLIDocs(t *testing.T) map[string]string {
	t.Helper()
	ios, _, _, _ := render.Test()
	root := NewRootCmd(&Factory{IO: ios, Getenv: func(string) string { return "" }})
	// cobra adds these two when it executes; the manual documents them too.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	root.DisableAutoGenTag = true
	dir := t.TempDir()
	link := func(name string) string { return name }
	if err := doc.GenMarkdownTreeCustom(root, dir, func(string) string { return "" }, link); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	out := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = string(data)
	}
	if len(out) == 0 {
		t.Fatal("no pages generated")
	}
	return out
}
