// Command spawn is the floor of BenchmarkLocalRun, and the meter it is measured with.
//
// As the floor it starts the processes a pipeline of shell.run steps starts, with no
// engine, no store and no output, as directly as Go can: -n times the command, one after
// the other (-concurrency 1, a chain) or up to -concurrency at once (a fan-out). Whatever
// pi spends beyond it is pi's own cost.
//
//	spawn -n 5000 -concurrency 8 true
//
// With -supervised each process is started as shell.run starts a step's command (in a
// process group of its own, known to the process's one reaper, its escaped processes
// looked for at its end: actions.RunSupervised), so pi's engine is measured apart from
// what guarding the steps costs.
//
// With -measure it runs the command once, its stdout to /dev/null and its stderr to
// spawn's, and prints on stdout the command's wall time, user and system CPU time (ns) and
// peak RSS (KiB): "wall=N user=N sys=N maxrss=N". A small process measures, because a
// child's peak RSS as the kernel reports it is at least its parent's at the fork: measured
// from the benchmark's own (big) process it would be the benchmark's.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pi-cli/pi/internal/actions"
)

func main() {
	n := flag.Int("n", 1, "processes to start")
	conc := flag.Int("concurrency", 1, "processes running at once")
	measure := flag.Bool("measure", false, "run the command once and print its wall, CPU time and peak RSS")
	supervised := flag.Bool("supervised", false, "start each process as shell.run starts a step")
	flag.Parse()
	argv := flag.Args()
	if len(argv) == 0 || *n < 1 || *conc < 1 {
		fmt.Fprintln(os.Stderr, "usage: spawn [-n N] [-concurrency C] [-measure] COMMAND [ARG...]")
		os.Exit(2)
	}
	if *measure {
		os.Exit(meter(argv))
	}
	start := func() error { return exec.Command(argv[0], argv[1:]...).Run() }
	if *supervised {
		start = func() error { return actions.RunSupervised(argv) }
	}
	var (
		next   atomic.Int64
		failed atomic.Int64
		wg     sync.WaitGroup
	)
	for range min(*conc, *n) {
		wg.Go(func() {
			for next.Add(1) <= int64(*n) {
				if err := start(); err != nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	actions.ShutdownReaper() // as pi does before it exits
	if f := failed.Load(); f > 0 {
		fmt.Fprintf(os.Stderr, "spawn: %d of %d processes failed\n", f, *n)
		os.Exit(1)
	}
}

func meter(argv []string) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = os.Stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if cmd.ProcessState == nil {
		fmt.Fprintf(os.Stderr, "spawn: %v\n", err)
		return 1
	}
	var rss int64
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = int64(ru.Maxrss)
	}
	fmt.Printf("wall=%d user=%d sys=%d maxrss=%d\n", wall.Nanoseconds(),
		cmd.ProcessState.UserTime().Nanoseconds(), cmd.ProcessState.SystemTime().Nanoseconds(), rss)
	if err != nil {
		fmt.Fprintf(os.Stderr, "spawn: %s: %v\n", argv[0], err)
		return 1
	}
	return 0
}
