package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/sandbox"
)

var (
	buildOnce sync.Once
	buildDir  string
	buildErr  error
)

// releaseLDFlags are .goreleaser.yaml's: stripped, with the version, commit and date
// stamped (a stamped pi answers `pi version` before its libraries are initialised).
const releaseLDFlags = "-s -w -X github.com/pi-cli/pi/internal/buildinfo.version=v1.0.0" +
	" -X github.com/pi-cli/pi/internal/buildinfo.commit=0123456789abcdef0123456789abcdef01234567" +
	" -X github.com/pi-cli/pi/internal/buildinfo.date=2026-12-05T10:00:00Z"

// binaries builds pi as a release is built (CGO_ENABLED=0, -trimpath, releaseLDFlags) and
// the baseline programs, once per test process.
func binaries(b *testing.B) (pi, hello, floor string) {
	b.Helper()
	if testing.Short() {
		b.Skip("builds binaries")
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "pi-bench-"); buildErr != nil {
			return
		}
		for name, pkg := range map[string]string{"pi": ".", "hello": "./testdata/hello", "floor": "./testdata/floor",
			"floor-required": "./testdata/floor-required", "spawn": "./testdata/spawn"} {
			cmd := exec.Command("go", "build", "-trimpath", "-ldflags="+releaseLDFlags, "-o", filepath.Join(buildDir, name), pkg)
			cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
			if out, err := cmd.CombinedOutput(); err != nil {
				buildErr = fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
				return
			}
		}
	})
	if buildErr != nil {
		b.Fatal(buildErr)
	}
	return filepath.Join(buildDir, "pi"), filepath.Join(buildDir, "hello"), filepath.Join(buildDir, "floor")
}

// spawnPath is the spawn program (testdata/spawn) that binaries built.
func spawnPath() string { return filepath.Join(buildDir, "spawn") }

// floorRequiredPath is the floor-required program (testdata/floor-required) that binaries
// built.
func floorRequiredPath() string { return filepath.Join(buildDir, "floor-required") }

func TestMain(m *testing.M) {
	code := m.Run()
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// BenchmarkStartup measures whole processes built as a release is (CGO_ENABLED=0,
// -trimpath, -s -w), each run alternating with hello, the smallest Go program, built in the
// same run. ratio is the median over the iterations of the process's wall time over the
// hello run just after it (issue 24: pi version <= 1.5, validate <= 2.5), cpu-ratio the same
// for user + system time, ms and hello-ms the median wall times, ns/op the mean: medians,
// because a shared machine's load comes in bursts. load1 is the load average at the end
// (Linux). Wall and CPU time come from spawn -measure, so the benchmark's own process is
// not counted. The processes: two floors that do nothing (floor links every package pi
// links, floor-required only cobra, yaml.v3, lipgloss, spinner and the SQLite driver), pi
// version, pi validate of the seed pipeline and of a 10-step file, and the shell
// completion of a run id (pi __complete runs get "") with a store of 1,000 recorded runs
// (target 30 ms).
//
//	go test ./cmd/pi -run '^$' -bench Startup -benchtime 100x
func BenchmarkStartup(b *testing.B) {
	pi, hello, floor := binaries(b)
	seed, err := filepath.Abs("../../testdata/pipelines/valid/seed-brand-ad-localization.yaml")
	if err != nil {
		b.Fatal(err)
	}
	tenSteps, err := filepath.Abs("../../testdata/pipelines/bench/ten-steps.yaml")
	if err != nil {
		b.Fatal(err)
	}
	state := b.TempDir()
	env := append(os.Environ(), "XDG_STATE_HOME="+state)
	fillStore(b, state, 1000, 10).Close()
	complete := []string{pi, "__complete", "runs", "get", ""}
	cmd := exec.Command(complete[0], complete[1:]...)
	cmd.Env = env
	if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), "00000000-0000-4000-8000-000000000999") {
		b.Fatalf("pi __complete runs get does not offer the newest run: %v\n%s", err, out)
	}
	cases := []struct {
		name string
		argv []string
	}{
		{"floor", []string{floor}},
		{"floor-required", []string{floorRequiredPath()}},
		{"version", []string{pi, "version"}},
		{"validate-seed", []string{pi, "validate", seed}},
		{"validate-10-steps", []string{pi, "validate", tenSteps}},
		{"complete-run-id-1000-runs", complete},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var wall, helloWall, ratio, cpuRatio []float64
			var total time.Duration
			for b.Loop() {
				p := measured(b, env, c.argv)
				h := measured(b, env, []string{hello})
				total += p.wall
				wall, helloWall = append(wall, float64(p.wall)/1e6), append(helloWall, float64(h.wall)/1e6)
				ratio, cpuRatio = append(ratio, float64(p.wall)/float64(h.wall)), append(cpuRatio, float64(p.cpu)/float64(h.cpu))
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/op")
			b.ReportMetric(median(ratio), "ratio")
			b.ReportMetric(median(cpuRatio), "cpu-ratio")
			b.ReportMetric(median(wall), "ms")
			b.ReportMetric(median(helloWall), "hello-ms")
			if load, ok := loadAverage(); ok {
				b.ReportMetric(load, "load1")
			}
		})
	}
}

// median is the middle of xs (which it sorts).
func median(xs []float64) float64 {
	slices.Sort(xs)
	if len(xs)%2 == 1 {
		return xs[len(xs)/2]
	}
	return (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
}

// loadAverage is the machine's load average over the last minute (Linux).
func loadAverage() (float64, bool) {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0, false
	}
	var load float64
	_, err = fmt.Sscanf(string(data), "%f", &load)
	return load, err == nil
}

// BenchmarkLocalRun runs the --local targets as whole processes. First the scale table
// (issue 14): chains and fan-outs of 50, 500 and 5,000 shell.run steps running `true`
// (20,000 and 100,000 too when PI_BENCH_HUGE=1; a size whose file pi refuses to read, over
// its input limits, is skipped with pi's message), each next to its floor measured in the same
// iterations, interleaved: the spawn program starting the same processes with no engine,
// one after the other for a chain, --concurrency (8) at once for a fan-out. Reported:
// ratio (pi's wall time over the floor's), cpu-ratio (user+sys over the floor's),
// peak-rss-MiB (pi's), pi-ms and floor-ms (wall per run); and ratio-supervised, pi against
// a second floor that starts each process as shell.run starts a step (its own process
// group, the process's one reaper told of it, the escape scan at its end), which leaves
// pi's own cost. Then `pi validate --local` of
// the same files (and `pi run --local --dry-run` when pi has it), and the older cases: sh
// starting /bin/true 50 times, and the skewed graph, whose makespan is reported against
// the 2 s the server's batches need for it (wave 1 = max(1 s, 0.1 s), wave 2 = max(0.1 s,
// 1 s)). The pipelines are generated in a temporary directory.
//
//	go test ./cmd/pi -run '^$' -bench LocalRun -benchtime 5x
//	PI_BENCH_HUGE=1 go test ./cmd/pi -run '^$' -bench 'LocalRun/.*-(20000|100000)$' -benchtime 1x -timeout 60m
func BenchmarkLocalRun(b *testing.B) {
	pi, _, _ := binaries(b)
	bench, err := filepath.Abs("../../testdata/pipelines/bench")
	if err != nil {
		b.Fatal(err)
	}
	state := b.TempDir()
	env := append(os.Environ(), "XDG_STATE_HOME="+state)
	sizes := []int{50, 500, 5000}
	if os.Getenv("PI_BENCH_HUGE") == "1" {
		sizes = append(sizes, 20_000, 100_000)
	}
	gen := b.TempDir()
	for _, shape := range []string{"chain", "fanout"} {
		for _, n := range sizes {
			file := filepath.Join(gen, fmt.Sprintf("%s-%d.yaml", shape, n))
			if err := writeTruePipeline(file, shape, n); err != nil {
				b.Fatal(err)
			}
			b.Run(fmt.Sprintf("%s-%d", shape, n), func(b *testing.B) {
				skipRefused(b, env, pi, file)
				conc := 1
				if shape == "fanout" {
					conc = 8 // pi's default --concurrency
				}
				floor := []string{spawnPath(), "-n", fmt.Sprint(n), "-concurrency", fmt.Sprint(conc), "true"}
				benchAgainstFloor(b, env,
					[]string{pi, "run", file, "--local", "-o", "jsonl"},
					floor, append([]string{floor[0], "-supervised"}, floor[1:]...))
			})
		}
	}
	dryRun := piHasDryRun(pi)
	for _, n := range sizes {
		file := filepath.Join(gen, fmt.Sprintf("chain-%d.yaml", n))
		b.Run(fmt.Sprintf("validate-%d", n), func(b *testing.B) {
			skipRefused(b, env, pi, file)
			benchMeasured(b, env, []string{pi, "validate", "--local", file})
		})
		if dryRun {
			b.Run(fmt.Sprintf("dry-run-%d", n), func(b *testing.B) {
				skipRefused(b, env, pi, file)
				benchMeasured(b, env, []string{pi, "run", "--local", "--dry-run", file})
			})
		}
	}
	cases := []struct {
		name string
		argv []string
	}{
		{"sh-50-true", []string{"sh", "-c", "for i in $(seq 50); do /bin/true; done"}},
		{"skewed-sleep", []string{pi, "run", filepath.Join(bench, "skewed-sleep.yaml"), "--local", "-o", "jsonl"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			start := time.Now()
			for b.Loop() {
				cmd := exec.Command(c.argv[0], c.argv[1:]...)
				cmd.Env = env
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("%v: %v\n%s", c.argv, err, out)
				}
			}
			if c.name == "skewed-sleep" {
				b.ReportMetric(time.Since(start).Seconds()/float64(b.N)/2.0, "makespan/batches")
			}
		})
	}
}

// BenchmarkDetach is `pi run FILE --detach` as a whole process against the simulated server
// on loopback, next to the same POST /api/v1/runs made from this process (the round trip
// alone). overhead-ms is what the pi process adds to the round trip: start-up, reading and
// validating the file, building the request (issue 5: at most 30 ms).
//
//	go test ./cmd/pi -run '^$' -bench Detach -benchtime 40x
func BenchmarkDetach(b *testing.B) {
	pi, _, _ := binaries(b)
	inst, err := sandbox.Start(context.Background(), sandbox.Options{DBPath: ":memory:", Latency: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer inst.Close()
	file, err := filepath.Abs("../../testdata/pipelines/bench/ten-steps.yaml")
	if err != nil {
		b.Fatal(err)
	}
	p, _, ds, err := pipeline.Load(file, pipeline.Options{Mode: pipeline.Remote})
	if err != nil || p == nil {
		b.Fatalf("%s: %v %v", file, err, ds)
	}
	body, err := p.RunsBody()
	if err != nil {
		b.Fatal(err)
	}
	c, err := piapi.New(piapi.Config{BaseURL: inst.URL, APIKey: inst.APIKey})
	if err != nil {
		b.Fatal(err)
	}
	var roundTrip time.Duration
	b.Run("round-trip", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			if _, err := c.CreateRun(context.Background(), body); err != nil {
				b.Fatal(err)
			}
		}
		roundTrip = time.Since(start) / time.Duration(b.N)
	})
	b.Run("pi-run-detach", func(b *testing.B) {
		start := time.Now()
		for b.Loop() {
			cmd := exec.Command(pi, "run", file, "--detach")
			cmd.Env = append(os.Environ(), "PI_BASE_URL="+inst.URL, "PI_API_KEY="+inst.APIKey)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("pi run --detach: %v\n%s", err, out)
			}
		}
		per := time.Since(start) / time.Duration(b.N)
		b.ReportMetric(float64(per-roundTrip)/1e6, "overhead-ms")
	})
}
