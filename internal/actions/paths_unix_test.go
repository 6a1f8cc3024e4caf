//go:build unix

package actions

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A run's shell.run steps look a command name up in $PATH once: the same name put earlier
// in $PATH during the run is not what its next step runs; a name whose file is gone, or
// under another $PATH, is looked up again; a path or an unknown name is left to exec as
// before.
func TestShellLooksCommandUpOnce(t *testing.T) {
	early, late := t.TempDir(), t.TempDir()
	tool := func(dir, say string) string {
		p := filepath.Join(dir, "pi-test-tool")
		if err := os.WriteFile(p, []byte("#!/bin/sh\necho "+say+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	list := string(os.PathListSeparator)
	t.Setenv("PATH", early+list+late+list+os.Getenv("PATH"))
	sh := &Shell{}
	run := func(argv0 string) (string, error) {
		t.Helper()
		res, err := sh.Execute(context.Background(), req("shell.run", map[string]any{"command": []any{argv0}}))
		if err != nil {
			return "", err
		}
		return strings.TrimSpace(res["stdout"].(string)), nil
	}
	lateTool := tool(late, "late")
	if got, err := run("pi-test-tool"); got != "late" {
		t.Fatalf("first step ran %q (%v), want late", got, err)
	}
	tool(early, "early")
	if got, err := run("pi-test-tool"); got != "late" {
		t.Fatalf("second step ran %q (%v): the name was looked up again, want late", got, err)
	}
	if err := os.Remove(lateTool); err != nil {
		t.Fatal(err)
	}
	if got, err := run("pi-test-tool"); got != "early" {
		t.Fatalf("after its file was removed the step ran %q (%v), want early", got, err)
	}
	tool(late, "late")
	t.Setenv("PATH", late+list+os.Getenv("PATH"))
	if got, err := run("pi-test-tool"); got != "late" {
		t.Fatalf("under another $PATH the step ran %q (%v), want late", got, err)
	}
	if got, err := run(filepath.Join(early, "pi-test-tool")); got != "early" {
		t.Fatalf("a path ran %q (%v)", got, err)
	}
	if _, err := run("pi-test-no-such-tool"); err == nil || !strings.Contains(err.Error(), "executable file not found") {
		t.Fatalf("an unknown name: %v", err)
	}
}
