package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// usage is what spawn -measure reports of one process.
type usage struct {
	wall, cpu time.Duration
	maxRSSKiB int64
}

// measured runs argv once under spawn -measure (its stdout discarded) and returns its usage.
func measured(b *testing.B, env, argv []string) usage {
	b.Helper()
	cmd := exec.Command(spawnPath(), append([]string{"-measure"}, argv...)...)
	cmd.Env = env
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%v: %v\n%s", argv, err, tail(stderr.String(), 2000))
	}
	var wall, user, sys, rss int64
	if _, err := fmt.Sscanf(string(out), "wall=%d user=%d sys=%d maxrss=%d", &wall, &user, &sys, &rss); err != nil {
		b.Fatalf("spawn -measure printed %q: %v", out, err)
	}
	return usage{wall: time.Duration(wall), cpu: time.Duration(user + sys), maxRSSKiB: rss}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// benchAgainstFloor runs pi and its two floors alternately, b.N times each, and reports
// pi's wall time per run (ns/op) and against the floor's (ratio), the same for CPU time
// (cpu-ratio), pi's peak RSS over the runs, and pi against the supervised floor (the same
// processes started as shell.run starts them: what is left is pi's own cost).
func benchAgainstFloor(b *testing.B, env, pi, floor, supervised []string) {
	var p, f, s usage
	add := func(to *usage, u usage) {
		to.wall, to.cpu, to.maxRSSKiB = to.wall+u.wall, to.cpu+u.cpu, max(to.maxRSSKiB, u.maxRSSKiB)
	}
	for b.Loop() {
		add(&p, measured(b, env, pi))
		add(&f, measured(b, env, floor))
		add(&s, measured(b, env, supervised))
	}
	n := float64(b.N)
	b.ReportMetric(float64(p.wall.Nanoseconds())/n, "ns/op")
	b.ReportMetric(float64(p.wall)/float64(f.wall), "ratio")
	b.ReportMetric(float64(p.cpu)/float64(f.cpu), "cpu-ratio")
	b.ReportMetric(float64(p.maxRSSKiB)/1024, "peak-rss-MiB")
	b.ReportMetric(float64(p.wall)/float64(s.wall), "ratio-supervised")
	b.ReportMetric(float64(p.cpu)/float64(s.cpu), "cpu-ratio-supervised")
	b.ReportMetric(float64(p.wall.Milliseconds())/n, "pi-ms")
	b.ReportMetric(float64(f.wall.Milliseconds())/n, "floor-ms")
	b.ReportMetric(float64(s.wall.Milliseconds())/n, "supervised-ms")
	b.ReportMetric(float64(p.cpu.Milliseconds())/n, "pi-cpu-ms")
	b.ReportMetric(float64(f.cpu.Milliseconds())/n, "floor-cpu-ms")
}

// benchMeasured runs argv b.N times and reports its wall time per run and peak RSS.
func benchMeasured(b *testing.B, env, argv []string) {
	var wall time.Duration
	var rss int64
	for b.Loop() {
		u := measured(b, env, argv)
		wall += u.wall
		rss = max(rss, u.maxRSSKiB)
	}
	b.ReportMetric(float64(wall.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(rss)/1024, "peak-rss-MiB")
}

// writeTruePipeline writes a pipeline of n shell.run steps running `true`: a chain (each
// step depends on the one before) or a fan-out (every step after the first depends on the
// first). It streams, so a 100,000-step file costs the benchmark no memory.
func writeTruePipeline(path, shape string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintln(w, "steps:")
	for i := range n {
		fmt.Fprintf(w, "  - id: s%d\n    action: shell.run\n    input: { command: [\"true\"] }\n", i)
		switch {
		case i == 0:
		case shape == "chain":
			fmt.Fprintf(w, "    depends_on: [s%d]\n", i-1)
		default:
			fmt.Fprintln(w, "    depends_on: [s0]")
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// piHasDryRun reports whether this pi has `pi run --dry-run` (another change adds it).
func piHasDryRun(pi string) bool {
	out, _ := exec.Command(pi, "run", "--help").CombinedOutput()
	return strings.Contains(string(out), "--dry-run")
}

// BenchmarkRunsStore is `pi runs list` and `pi runs get` as whole processes against a store
// of 1,000 recorded runs (10 steps each) plus one of 100,000 steps, all finished (issue
// 14: each under 1 s). The store is written through the store package, as pi run writes it.
//
//	go test ./cmd/pi -run '^$' -bench RunsStore -benchtime 5x
func BenchmarkRunsStore(b *testing.B) {
	pi, _, _ := binaries(b)
	state := b.TempDir()
	env := append(os.Environ(), "XDG_STATE_HOME="+state)
	st := fillStore(b, state, 1000, 10)
	huge := "11111111-1111-4111-8111-111111111111"
	recordRun(b, st, huge, 100_000, time.Now().Add(-time.Hour-time.Minute))
	st.Close()
	for _, c := range []struct {
		name string
		argv []string
	}{
		{"list", []string{pi, "runs", "list"}},
		{"list-json", []string{pi, "runs", "list", "-o", "json"}},
		{"get-100000-steps", []string{pi, "runs", "get", huge}},
		{"get-100000-steps-json", []string{pi, "runs", "get", huge, "-o", "json"}},
		{"get-10-steps", []string{pi, "runs", "get", "00000000-0000-4000-8000-000000000500"}},
	} {
		b.Run(c.name, func(b *testing.B) { benchMeasured(b, env, c.argv) })
	}
}

// fillStore opens the store of XDG_STATE_HOME=state and records runs finished runs of
// steps steps each, one a second until an hour ago, through the store package as pi run
// writes them. Their ids are 00000000-0000-4000-8000-%012d, the last one the newest.
func fillStore(b *testing.B, state string, runs, steps int) *store.Store {
	b.Helper()
	st, err := store.Open(context.Background(), filepath.Join(state, "pi", "runs.db"))
	if err != nil {
		b.Fatal(err)
	}
	t0 := time.Now().Add(-time.Hour - time.Duration(runs)*time.Second)
	for i := range runs {
		recordRun(b, st, fmt.Sprintf("00000000-0000-4000-8000-%012d", i), steps, t0.Add(time.Duration(i)*time.Second))
	}
	return st
}

// recordRun records a finished run of a chain of n shell.run steps.
func recordRun(b *testing.B, st *store.Store, id string, n int, created time.Time) {
	b.Helper()
	r := &run.Run{ID: id, Status: run.Completed, CreatedAt: created, Steps: make([]run.Step, n)}
	for i := range r.Steps {
		r.Steps[i] = run.Step{ID: fmt.Sprintf("s%d", i), Action: "shell.run", Status: run.StepCompleted, Attempts: 1,
			StartedAt: created, CompletedAt: created.Add(time.Millisecond), Result: map[string]any{"exit_code": 0, "stdout": "", "stderr": ""}}
		if i > 0 {
			r.Steps[i].DependsOn = []string{r.Steps[i-1].ID}
		}
	}
	if err := st.Create(context.Background(), store.Record{Run: r, File: id + ".yaml", Pipeline: []byte("steps: []\n")}); err != nil {
		b.Fatal(err)
	}
}

// skipRefused skips a benchmark whose pipeline file pi refuses to read (its input limits:
// size, lines and flow items), saying why in pi's words.
func skipRefused(b *testing.B, env []string, pi, file string) {
	b.Helper()
	cmd := exec.Command(pi, "validate", "--local", file)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(string(out), "pi reads of a pipeline file") {
		b.Skipf("pi refuses the file: %s", tail(strings.TrimSpace(string(out)), 400))
	}
}
