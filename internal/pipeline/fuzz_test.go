package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse: Parse and Validate never panic, and every diagnostic with a position points
// inside the input.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"valid", "valid/local", "invalid"} {
		files, _ := filepath.Glob(filepath.Join(pipelinesDir, dir, "*.yaml"))
		for _, path := range files {
			if data, err := os.ReadFile(path); err == nil {
				f.Add(data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, src, ds := Parse("f.yaml", data)
		if p != nil {
			_, remote := validate(p, src, Remote, nil)
			x, local := validate(p, src, Local, map[string]string{"x": "1"})
			ds = append(append(ds, remote...), local...)
			p.Layers()
			if q, err := withParams(p, x, nil); err == nil {
				_, _ = q.RunsBody()
			}
		}
		lines := splitLines(data)
		for _, d := range ds {
			if d.Pos == (Pos{}) {
				continue
			}
			if d.Pos.Line < 1 || d.Pos.Line > len(lines) {
				t.Fatalf("%s: line outside the input (%d lines)", d, len(lines))
			}
			if d.Pos.Column < 1 || d.Pos.Column > len(lines[d.Pos.Line-1])+1 {
				t.Fatalf("%s: column outside line %d (%q)", d, d.Pos.Line, lines[d.Pos.Line-1])
			}
		}
	})
}

// pipelineYAML builds an n-step pipeline: an extraction, an ad, then a chain of edits where
// each step also depends on the one two back and edits the previous step's ad, the shape
// that exercises every check.
func pipelineYAML(n int) []byte {
	var b strings.Builder
	b.WriteString("params:\n  prompt: a hero ad\nsteps:\n")
	b.WriteString("  - id: s0\n    action: brands.extract\n    input: { url: https://example.com }\n")
	for i := 1; i < n; i++ {
		action := "campaigns.edit"
		if i == 1 {
			action = "campaigns.generate"
		}
		fmt.Fprintf(&b, "  - id: s%d\n    action: %s\n", i, action)
		if i >= 2 {
			fmt.Fprintf(&b, "    depends_on: [s%d, s%d]\n", i-1, i-2)
		} else {
			fmt.Fprintf(&b, "    depends_on: [s%d]\n", i-1)
		}
		b.WriteString("    input: { prompt: \"${params.prompt}\", output: { aspect_ratio: \"1:1\" } }\n")
		if i == 1 {
			b.WriteString("    input_map: { brand_id: $steps.s0.result.brand_id }\n")
		} else {
			fmt.Fprintf(&b, "    input_map: { source_job_id: $steps.s%d.result.job_id }\n", i-1)
		}
		b.WriteString("    retry: { max_attempts: 3, backoff: 1s }\n")
	}
	return []byte(b.String())
}

func benchMode(n int) Mode {
	if n > MaxRemoteSteps {
		return Local
	}
	return Remote
}

// BenchmarkValidate measures Validate alone on an already parsed file.
func BenchmarkValidate(b *testing.B) {
	for _, n := range []int{10, 1000} {
		p, src, _ := Parse("bench.yaml", pipelineYAML(n))
		b.Run(fmt.Sprintf("steps-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ds := validate(p, src, benchMode(n), nil); ds.HasErrors() {
					b.Fatal(ds.Error())
				}
			}
		})
	}
}

// BenchmarkParse measures decoding (yaml.v3 and the positions walk) alone.
func BenchmarkParse(b *testing.B) {
	for _, n := range []int{10, 1000} {
		data := pipelineYAML(n)
		b.Run(fmt.Sprintf("steps-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, _, ds := Parse("bench.yaml", data); ds.HasErrors() {
					b.Fatal(ds.Error())
				}
			}
		})
	}
}

// BenchmarkCheck measures what `pi validate` does with one file: Load (parse, validate).
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{10, 1000} {
		data := pipelineYAML(n)
		b.Run(fmt.Sprintf("steps-%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, ds, _ := Load("bench.yaml", Options{Data: data, Mode: benchMode(n)}); ds.HasErrors() {
					b.Fatal(ds.Error())
				}
			}
		})
	}
}

func TestBenchmarkPipelinesAreValid(t *testing.T) {
	for _, n := range []int{10, 1000} {
		p, src, ds := Parse("bench.yaml", pipelineYAML(n))
		_, vds := validate(p, src, benchMode(n), nil)
		ds = append(ds, vds...)
		if len(ds.Errors()) > 0 || len(p.Steps) != n {
			t.Fatalf("steps-%d: %d steps, diagnostics:\n%s", n, len(p.Steps), ds.Error())
		}
		if got := len(p.Layers()); got != n {
			t.Errorf("steps-%d: %d layers, want %d", n, got, n)
		}
	}
}

// TestBenchFileIsCurrent: testdata/pipelines/bench/ten-steps.yaml is the benchmarks' 10-step
// file, for timing a whole `pi validate` (hyperfine); -update rewrites it.
func TestBenchFileIsCurrent(t *testing.T) {
	path := filepath.Join(pipelinesDir, "bench", "ten-steps.yaml")
	if *update {
		if err := os.WriteFile(path, pipelineYAML(10), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(pipelineYAML(10)) {
		t.Errorf("%s differs from pipelineYAML(10): run go test ./internal/pipeline -update", path)
	}
}
