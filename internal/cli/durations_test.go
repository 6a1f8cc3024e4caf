package cli

import (
	"context"
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
