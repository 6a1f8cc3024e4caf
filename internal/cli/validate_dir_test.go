package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/render"
)

const validPipeline = "steps:\n  - id: brand\n    action: brands.extract\n    input: {url: https://example.com}\n"

// pi validate DIR checks every *.yaml and *.yml inside it (subdirectories too, hidden ones
// not), in order; a directory without any is a usage error.
func TestValidateDirectory(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"a.yaml":         validPipeline,
		"sub/b.yml":      "steps:\n  - id: x\n    action: nope.nope\n",
		".hidden/c.yaml": "not: [valid",
		"notes.txt":      "not yaml",
	} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, _, errOut := testFactory()
	err := runValidate(context.Background(), &validateOptions{IO: f.IO, Files: []string{dir}, Output: "text"})
	if exitCode(err) != ExitUsage {
		t.Fatalf("exit %d, want 2 (sub/b.yml is invalid)", exitCode(err))
	}
	got := errOut.String()
	a, b := strings.Index(got, filepath.Join(dir, "a.yaml")+": valid"), strings.Index(got, filepath.Join(dir, "sub", "b.yml")+": invalid")
	if a < 0 || b < 0 || a > b {
		t.Errorf("want a.yaml valid then sub/b.yml invalid:\n%s", got)
	}
	if strings.Contains(got, "c.yaml") || strings.Contains(got, "notes.txt") {
		t.Errorf("a hidden or non-YAML file was checked:\n%s", got)
	}
	empty := t.TempDir()
	err = runValidate(context.Background(), &validateOptions{IO: f.IO, Files: []string{empty}, Output: "text"})
	if exitCode(err) != ExitUsage || !strings.Contains(err.Error(), "no *.yaml or *.yml file") {
		t.Errorf("empty directory: %v", err)
	}
}

// At a terminal, diagnostics are coloured and carry their source line, in pi validate and
// pi run alike; in a pipe they are plain, one line each.
func TestDiagnosticsColourAndSnippets(t *testing.T) {
	file := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(file, []byte("steps:\n  - id: x\n    action: nope.nope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tty := range []bool{true, false} {
		for _, cmd := range []string{"validate", "run", "run --local"} {
			ios, _, _, errOut := render.Test()
			ios.SetTTY(tty)
			ios.SetColorEnabled(tty)
			state := t.TempDir() // the local run's records
			f := &Factory{IO: ios, Getenv: func(k string) string {
				if k == "XDG_STATE_HOME" {
					return state
				}
				return ""
			}}
			var err error
			if cmd == "validate" {
				err = runValidate(context.Background(), &validateOptions{IO: ios, Files: []string{file}, Output: "text"})
			} else {
				err = runRun(t.Context(), &runOptions{runDeps: f.runDeps(), File: file, Output: render.FormatTable, Local: cmd == "run --local"})
			}
			if exitCode(err) != ExitUsage {
				t.Fatalf("%s: exit %d, want 2", cmd, exitCode(err))
			}
			got := errOut.String()
			hasColour, hasSnippet := strings.Contains(got, "\x1b["), strings.Contains(got, " 3 |     action: nope.nope")
			if hasColour != tty || hasSnippet != tty {
				t.Errorf("%s, tty %v: colour %v, snippet %v:\n%s", cmd, tty, hasColour, hasSnippet, got)
			}
		}
	}
}
