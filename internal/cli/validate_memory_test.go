//go:build linux

package cli

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"testing"

	"github.com/pi-cli/pi/internal/pipeline"
)

// BenchmarkValidatePeakMemory runs the built `pi validate --local` on hostile and large
// inputs and reports the process's peak resident memory (getrusage ru_maxrss), the figure
// that matters for a CI runner: /dev/zero and the 50 MB files of issue 11 are refused
// before parsing, and so are 9 MB of duplicate keys (under the size and the total, over
// what one piece may hold); the files just under the limits are parsed in full, as is a
// chain of 100,000 steps (read in pieces).
//
//	go test ./internal/cli -run '^$' -bench ValidatePeakMemory -benchtime 3x
func BenchmarkValidatePeakMemory(b *testing.B) {
	bin := piBinary(b)
	dir := b.TempDir()
	// The files are written piece by piece: a child's ru_maxrss starts from its parent's
	// resident size at fork, so this process must stay small (its floor is what
	// "true" reports).
	write := func(name string, parts ...string) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		for i := 0; i+1 < len(parts); i += 2 {
			n, _ := strconv.Atoi(parts[i])
			for range n {
				w.WriteString(parts[i+1])
			}
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		return p
	}
	head := "steps:\n  - id: a\n    action: shell.run\n    input: {command: [true]}\n"
	flowHead := "steps:\n  - id: a\n    action: shell.run\n    input: {command: ["
	n := strconv.Itoa
	limit := pipeline.MaxItems - 1000
	var steps []string
	for i := range 20_000 {
		steps = append(steps, "1", "  - id: s"+n(i)+"\n    action: shell.run\n    input: {command: [echo, hi]}\n")
	}
	chain := filepath.Join(dir, "chain.yaml")
	if err := writeChain(chain, 100_000); err != nil {
		b.Fatal(err)
	}
	values1000 := strconv.Itoa(0)
	for i := 1; i < 1000; i++ {
		values1000 += ", " + strconv.Itoa(i)
	}
	debug.FreeOSMemory()
	for _, tt := range []struct{ name, path string }{
		{"floor-true", ""},
		{"dev-zero", "/dev/zero"},
		{"flow-list-50MB", write("flow50.yaml", "1", flowHead, n(25<<20), "1,", "1", "1]}\n")},
		{"duplicate-keys-49MB", write("dup49.yaml", "1", head, n(49<<20/10), "    id: a\n")},
		{"flow-list-at-limit", write("flow.yaml", "1", flowHead, n(limit), "1,", "1", "1]}\n")},
		{"duplicate-keys-at-limit", write("dup.yaml", "1", head, n(limit), "    id: a\n")},
		{"duplicate-keys-9MB", write("dup9.yaml", "1", head, n(9<<20/10), "    id: a\n")},
		{"steps-20000", write("steps.yaml", append([]string{"1", "steps:\n"}, steps...)...)},
		{"chain-100000", chain},
		// issue 21, item 3: refused by the expansion bound (pipeline.MaxExpandedBytes)
		{"param-1MiB-x20000", write("param.yaml", "1", "params:\n  big: \"", n(1<<20), "x", "1", "\"\nsteps:\n  - id: s\n    action: shell.run\n    input:\n      script: \"", "20000", "${params.big}", "1", "\"\n")},
		{"template-10MiB-x1000", write("tmpl.yaml", "1", "steps:\n  - id: s\n    action: shell.run\n    matrix:\n      n: [", "999", "${{n}}, ", "1", "0]\n    input:\n      script: \"", n(10<<20), "y", "1", "${matrix.n}\"\n")},
	} {
		b.Run(tt.name, func(b *testing.B) {
			var peak int64
			for b.Loop() {
				cmd := exec.Command(bin, "validate", "--local", tt.path)
				if tt.path == "" {
					cmd = exec.Command("true")
				}
				cmd.Run()
				if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
					peak = max(peak, ru.Maxrss)
				}
			}
			b.ReportMetric(float64(peak)/1024, "peak-MiB")
		})
	}
}

// writeChain writes a chain of n shell.run steps running true, a step at a time.
func writeChain(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	w.WriteString("steps:\n")
	for i := range n {
		w.WriteString("  - id: s" + strconv.Itoa(i) + "\n    action: shell.run\n    input: {command: [\"true\"]}\n")
		if i > 0 {
			w.WriteString("    depends_on: [s" + strconv.Itoa(i-1) + "]\n")
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
