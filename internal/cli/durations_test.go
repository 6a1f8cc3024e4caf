package cli

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/render"
)

// One run, one duration: pi run's summary, pi runs get and pi runs list write the same.
func TestDurationsAgree(t *testing.T) {
	dir := t.TempDir()
	ios, _, out, _ := render.Test()
	env := map[string]string{"XDG_STATE_HOME": dir}
	f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
	yaml := "steps:\n  - id: a\n    action: shell.run\n    input: {script: 'sleep 0.03'}\n  - id: b\n    action: shell.run\n    depends_on: [a]\n    input: {script: 'sleep 0.02'}\n"
	if err := runRun(context.Background(), &runOptions{runDeps: f.runDeps(), Local: true, File: writePipeline(t, dir, yaml)}); err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`✓ run ([0-9a-f-]{36}) completed in (\S+)`)
	m := re.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("no summary line:\n%s", out)
	}
	id, want := m[1], m[2]
	if !strings.HasSuffix(want, "ms") {
		t.Fatalf("a local run of ~50ms reads %q, want milliseconds", want)
	}
	out.Reset()
	if code := Execute(context.Background(), f, []string{"runs", "get", id}); code != 0 {
		t.Fatalf("runs get: exit %d", code)
	}
	if got := re.FindStringSubmatch(out.String()); got == nil || got[2] != want {
		t.Errorf("runs get says %v, the summary said %s:\n%s", got, want, out)
	}
	out.Reset()
	if code := Execute(context.Background(), f, []string{"runs", "list"}); code != 0 {
		t.Fatalf("runs list: exit %d", code)
	}
	if !regexp.MustCompile(id + `.*\s` + regexp.QuoteMeta(want) + `\n`).MatchString(out.String()) {
		t.Errorf("runs list does not say %s:\n%s", want, out)
	}
}

// A resumed run's duration is the time pi worked on it: a run that failed a minute ago
// (its record moved back by a minute) and is resumed now reads well under a second in
// the summary, runs get and runs list, not a minute.
func TestResumedRunLeavesTheGapOut(t *testing.T) {
	dir := t.TempDir()
	ios, _, out, _ := render.Test()
	env := map[string]string{"XDG_STATE_HOME": dir}
	f := &Factory{IO: ios, Getenv: func(k string) string { return env[k] }}
	ok := filepath.Join(dir, "ok")
	yaml := "steps:\n  - id: a\n    action: shell.run\n    input: {script: 'sleep 0.02'}\n  - id: b\n    action: shell.run\n    depends_on: [a]\n    input: {command: [test, -f, " + ok + "]}\n"
	err := runRun(context.Background(), &runOptions{runDeps: f.runDeps(), Local: true, File: writePipeline(t, dir, yaml)})
	m := regexp.MustCompile(`✗ run ([0-9a-f-]{36}) failed`).FindStringSubmatch(out.String())
	if err == nil || m == nil {
		t.Fatalf("want a failed run: %v\n%s", err, out)
	}
	id := m[1]
	// the failed run happened a minute ago
	db, err := sql.Open("sqlite", filepath.Join(dir, "pi", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		`UPDATE runs SET created_ms=created_ms-60000, updated_ms=updated_ms-60000 WHERE id=?`,
		`UPDATE run_steps SET started_ms=started_ms-60000 WHERE run_id=? AND started_ms>0`,
		`UPDATE run_steps SET completed_ms=completed_ms-60000 WHERE run_id=? AND completed_ms>0`,
	} {
		if _, err := db.Exec(q, id); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if err := os.WriteFile(ok, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if err := runRun(context.Background(), &runOptions{runDeps: f.runDeps(), Local: true, Resume: id}); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	re := regexp.MustCompile(`✓ run ` + id + ` completed in (\S+)`)
	got := re.FindStringSubmatch(out.String())
	if got == nil || !strings.HasSuffix(got[1], "ms") {
		t.Fatalf("the resumed run's summary counts the minute it was idle: %v\n%s", got, out)
	}
	want := got[1]
	out.Reset()
	if code := Execute(context.Background(), f, []string{"runs", "get", id}); code != 0 {
		t.Fatalf("runs get: exit %d", code)
	}
	if g := re.FindStringSubmatch(out.String()); g == nil || g[1] != want {
		t.Errorf("runs get says %v, the summary said %s:\n%s", g, want, out)
	}
	out.Reset()
	if code := Execute(context.Background(), f, []string{"runs", "list"}); code != 0 {
		t.Fatalf("runs list: exit %d", code)
	}
	if !regexp.MustCompile(id + `.*\s` + regexp.QuoteMeta(want) + `\n`).MatchString(out.String()) {
		t.Errorf("runs list does not say %s:\n%s", want, out)
	}
}
