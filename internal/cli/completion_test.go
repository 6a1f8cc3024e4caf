package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// complete runs `pi __complete args...` (what the shell scripts call) and returns the
// candidates and the directive line.
func complete(t *testing.T, env map[string]string, args ...string) ([]string, string) {
	t.Helper()
	ios, _, out, _ := render.Test()
	f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
	if code := Execute(context.Background(), f, append([]string{"__complete"}, args...)); code != 0 {
		t.Fatalf("__complete %q: exit %d", args, code)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

func TestCompletion(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"XDG_STATE_HOME": dir}
	ctx := context.Background()

	// no database yet: nothing offered, and none created
	if got, _ := complete(t, env, "runs", "get", ""); len(got) != 0 {
		t.Fatalf("without records: %q", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "pi")); err == nil {
		t.Fatal("completion created the runs database")
	}

	st, err := store.Open(ctx, filepath.Join(dir, "pi", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	base := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)
	for i, rec := range []struct {
		id, file string
		status   run.Status
		owner    store.Owner
	}{
		{"11111111-1111-4111-8111-111111111111", "old.yaml", run.Completed, store.Owner{}},
		{"22222222-2222-4222-8222-222222222222", "dir/killed.yaml", run.InProgress, store.Owner{Host: host, PID: 999999999}},
		{"33333333-3333-4333-8333-333333333333", "new\tone.yaml", run.Failed, store.Owner{}},
	} {
		r := &run.Run{ID: rec.id, Status: rec.status, CreatedAt: base.Add(time.Duration(i) * time.Minute)}
		if err := st.Create(ctx, store.Record{Run: r, File: rec.file, Pipeline: []byte("steps: []"), Owner: rec.owner}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()

	want := []string{
		"33333333-3333-4333-8333-333333333333\tnew one.yaml failed (local)",
		"22222222-2222-4222-8222-222222222222\tdir/killed.yaml interrupted (local)",
		"11111111-1111-4111-8111-111111111111\told.yaml completed (local)",
	}
	for _, args := range [][]string{{"runs", "get", ""}, {"runs", "download", ""}, {"runs", "report", ""}, {"runs", "rerun", ""}, {"run", "--resume", ""}, {"run", "--resume="}} {
		got, directive := complete(t, env, args...)
		want := want
		if args[0] == "run" {
			want = want[:2] // --resume offers the runs it can continue, not a completed one
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%q:\n got %q\nwant %q", args, got, want)
		}
		if directive != ":36" { // NoFileComp | KeepOrder: newest first, as given
			t.Errorf("%q: directive %s, want :36", args, directive)
		}
	}
	if got, _ := complete(t, env, "runs", "get", want[0][:36], ""); len(got) != 0 {
		t.Errorf("a second run id offered: %q", got)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "p.yaml", "-o", ""}, "table plain json jsonl"},
		{[]string{"runs", "get", "x", "--output", ""}, "table plain json jsonl"},
		{[]string{"runs", "list", "-o", ""}, "table json jsonl"},
		{[]string{"runs", "download", "x", "-o", ""}, "table json"},
		{[]string{"validate", "-o", ""}, "table json"},
		{[]string{"actions", "-o", ""}, "table json"},
		{[]string{"graph", "p.yaml", "--format", ""}, "text mermaid dot"},
		{[]string{"graph", "p.yaml", "-o", ""}, "text mermaid dot"},
	} {
		got, _ := complete(t, env, tc.args...)
		if strings.Join(got, " ") != tc.want {
			t.Errorf("%q: %q, want %s", tc.args, got, tc.want)
		}
	}
	for _, args := range [][]string{{"run", ""}, {"validate", ""}, {"graph", ""}} {
		got, directive := complete(t, env, args...)
		if strings.Join(got, " ") != "yaml yml" || directive != ":8" {
			t.Errorf("%q: %q %s, want yaml yml :8 (files of those extensions)", args, got, directive)
		}
	}
}

// --resume offers a failed run even when more than maxCompletedRuns completed runs came
// after it: the limit counts the runs offered, not the runs looked at.
func TestResumeCompletionLooksPastCompletedRuns(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"XDG_STATE_HOME": dir}
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(dir, "pi", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)
	failed := "0f000000-0000-4000-8000-000000000000"
	create := func(id string, status run.Status, at time.Time) {
		r := &run.Run{ID: id, Status: status, CreatedAt: at}
		if err := st.Create(ctx, store.Record{Run: r, File: "p.yaml", Pipeline: []byte("steps: []")}); err != nil {
			t.Fatal(err)
		}
	}
	create(failed, run.Failed, base)
	for i := range maxCompletedRuns + 5 {
		create(fmt.Sprintf("c%07d-0000-4000-8000-000000000000", i), run.Completed, base.Add(time.Duration(i+1)*time.Minute))
	}
	st.Close()
	got, _ := complete(t, env, "run", "--resume", "")
	if len(got) != 1 || !strings.HasPrefix(got[0], failed+"\t") {
		t.Errorf("--resume offers %q, want only the failed run", got)
	}
	if got, _ := complete(t, env, "runs", "get", ""); len(got) != maxCompletedRuns {
		t.Errorf("runs get offers %d runs, want the newest %d", len(got), maxCompletedRuns)
	}
}
