package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// BenchmarkStartup measures whole processes, built as a release is (CGO_ENABLED=0, -trimpath,
// -s -w): pi version, pi validate of a 10-step file, and two baselines from the same machine,
// the smallest Go program (hello) and a program that links all of pi's packages but does
// nothing (floor). ns/op is the wall time of one process. (Peak memory is not reported here:
// a child started by Go inherits the parent's high-water mark in its rusage; measure it with
// /usr/bin/time -f %M instead.)
//
//	go test ./cmd/pi -run '^$' -bench Startup -benchtime 100x
func BenchmarkStartup(b *testing.B) {
	if testing.Short() {
		b.Skip("builds binaries")
	}
	dir := b.TempDir()
	build := func(name, pkg string) string {
		bin := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("go build %s: %v\n%s", pkg, err, out)
		}
		return bin
	}
	pi := build("pi", ".")
	hello := build("hello", "./testdata/hello")
	floor := build("floor", "./testdata/floor")
	tenSteps, err := filepath.Abs("../../testdata/pipelines/bench/ten-steps.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name string
		argv []string
	}{
		{"hello", []string{hello}},
		{"floor", []string{floor}},
		{"version", []string{pi, "version"}},
		{"validate-10-steps", []string{pi, "validate", tenSteps}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if out, err := exec.Command(c.argv[0], c.argv[1:]...).CombinedOutput(); err != nil {
					b.Fatalf("%v: %v\n%s", c.argv, err, out)
				}
			}
		})
	}
}
