package cli

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/render"
)

// BenchmarkWavesVsLocal is issue 23's benchmark: the 40-step matrix pipeline of
// testdata/pipelines/valid/waves-campaign.yaml (a brand, 3 heroes, 36 localizations) run
// as waves (4 server runs of at most 10) on the in-process sandbox (pi run --sandbox),
// against the same pipeline under --local on the same sandbox (pi's engine making each job,
// --concurrency 8), interleaved, --no-cache so that every run pays for its 40 jobs. The
// sandbox's jobs take sandboxLatency (300 ms, ±20 %). Reported: waves-ms and local-ms (the
// median makespan of each) and ratio, the median of the per-iteration ratios waves/local
// (issue 23's target: at most 1.1).
//
//	go test ./internal/cli -run '^$' -bench WavesVsLocal -benchtime 5x
func BenchmarkWavesVsLocal(b *testing.B) {
	file, err := filepath.Abs(filepath.Join(pipelinesDirForCLI, "valid", "waves-campaign.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	dir := b.TempDir()
	ios, _, _, _ := render.Test()
	f := &Factory{IO: ios, Getenv: func(k string) string {
		switch k {
		case "XDG_STATE_HOME", "XDG_CACHE_HOME", "XDG_CONFIG_HOME":
			return filepath.Join(dir, k)
		}
		return ""
	}}
	makespan := func(args ...string) time.Duration {
		start := time.Now()
		if code := Execute(context.Background(), f, append([]string{"run", file, "--no-cache", "-q", "-o", "json"}, args...)); code != ExitOK {
			b.Fatalf("pi run %v: exit %d", args, code)
		}
		return time.Since(start)
	}
	var wavesMS, localMS, ratios []float64
	for b.Loop() {
		w := makespan("--sandbox")
		l := makespan("--local", "--sandbox")
		wavesMS = append(wavesMS, float64(w.Milliseconds()))
		localMS = append(localMS, float64(l.Milliseconds()))
		ratios = append(ratios, w.Seconds()/l.Seconds())
	}
	b.ReportMetric(wavesMedian(wavesMS), "waves-ms")
	b.ReportMetric(wavesMedian(localMS), "local-ms")
	b.ReportMetric(wavesMedian(ratios), "ratio")
}

func wavesMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
