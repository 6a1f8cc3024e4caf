package cli

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// Every command that takes a run id takes a unique prefix of 4+ characters; an ambiguous
// one is exit 2 listing the candidates, and one that names nothing says so.
func TestRunIDPrefixes(t *testing.T) {
	state := t.TempDir()
	env := map[string]string{"XDG_STATE_HOME": state, "XDG_CACHE_HOME": filepath.Join(state, "cache"), "HOME": state}
	path, _ := store.DefaultPath(func(k string) string { return env[k] })
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"45de2349-aaaa-4000-8000-000000000001", "45de2349-bbbb-4000-8000-000000000002"} {
		r := &run.Run{ID: id, Status: run.Completed, Steps: []run.Step{{ID: "a", Action: "shell.run", Status: run.StepCompleted, Result: map[string]any{"exit_code": 0}}}}
		src := []byte("steps:\n  - { id: a, action: shell.run, input: { command: [true] } }\n")
		if err := st.Create(context.Background(), store.Record{Run: r, File: "p.yaml", Pipeline: src}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"runs", "get", "45de2349-a", "-o", "json"}, ExitOK, `"id": "45de2349-aaaa-4000-8000-000000000001"`},
		{[]string{"runs", "get", "45de"}, ExitUsage, `"45de" is the start of 2 run ids: 45de2349-bbbb-4000-8000-000000000002, 45de2349-aaaa-4000-8000-000000000001`},
		{[]string{"runs", "report", "45de2349"}, ExitUsage, "is the start of 2 run ids"},
		{[]string{"runs", "download", "45de"}, ExitUsage, "is the start of 2 run ids"},
		{[]string{"runs", "rerun", "45de"}, ExitUsage, "is the start of 2 run ids"},
		{[]string{"run", "--resume", "45de"}, ExitUsage, "is the start of 2 run ids"},
		{[]string{"runs", "get", "7777"}, ExitUsage, `no run recorded on this machine starts with "7777"`},
		{[]string{"runs", "get", "45d"}, ExitUsage, "expected a run id (UUID, or its first 4 or more characters)"},
		{[]string{"runs", "rerun", "45de2349-b"}, ExitUsage, "every step succeeded: nothing failed to run again"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			ios, _, out, errOut := render.Test()
			f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
			if code := Execute(context.Background(), f, tt.args); code != tt.code {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.code, out, errOut)
			}
			if !strings.Contains(out.String()+errOut.String(), tt.want) {
				t.Errorf("output lacks %q:\n%s%s", tt.want, out, errOut)
			}
		})
	}
}
