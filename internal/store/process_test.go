package store

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// The child side of TestTwoProcessesWriting: when PI_STORE_CHILD is "PATH PREFIX" it waits
// for its stdin to close (the parent's start signal), then records 30 runs of 4 transitions
// each in PATH. Without the variable it does nothing.
func TestStoreChildProcess(t *testing.T) {
	spec := os.Getenv("PI_STORE_CHILD")
	if spec == "" {
		t.Skip("runs only as TestTwoProcessesWriting's child")
	}
	path, prefix, _ := strings.Cut(spec, " ")
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	io.Copy(io.Discard, os.Stdin) // start with the other process
	for i := range 30 {
		r := newRun(fmt.Sprintf("%s-%02d", prefix, i))
		if err := s.Create(ctx, Record{Run: r, File: prefix + ".yaml"}); err != nil {
			t.Fatal(err)
		}
		for _, st := range []run.StepStatus{run.StepQueued, run.StepProcessing, run.StepCompleted} {
			r.Steps[0].Status = st
			if err := s.SaveEvents(ctx, r.ID, []run.Event{stepEvent(r, "a")}); err != nil {
				t.Fatal(err)
			}
		}
		r.Status = run.Completed
		if err := s.SaveEvents(ctx, r.ID, []run.Event{{RunID: r.ID, Status: string(run.Completed)}}); err != nil {
			t.Fatal(err)
		}
	}
}

// Two pi processes writing to one database at once (two local runs on one machine): neither
// gets "database is locked", and every run and transition of both is there afterwards.
func TestTwoProcessesWriting(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	path := filepath.Join(t.TempDir(), "runs.db")
	type child struct {
		cmd   *exec.Cmd
		start io.WriteCloser
		out   strings.Builder
	}
	var children []*child
	for _, prefix := range []string{"one", "two"} {
		c := &child{cmd: exec.Command(os.Args[0], "-test.run=^TestStoreChildProcess$", "-test.count=1")}
		c.cmd.Env = append(os.Environ(), "PI_STORE_CHILD="+path+" "+prefix)
		c.cmd.Stdout, c.cmd.Stderr = &c.out, &c.out
		var err error
		if c.start, err = c.cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		if err := c.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		children = append(children, c)
	}
	for _, c := range children {
		c.start.Close()
	}
	for _, c := range children {
		if err := c.cmd.Wait(); err != nil {
			t.Fatalf("writer process: %v\n%s", err, c.out.String())
		}
		if !strings.Contains(c.out.String(), "PASS") {
			t.Fatalf("writer process did not run:\n%s", c.out.String())
		}
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	list, err := s.List(ctx, 0)
	if err != nil || len(list) != 60 {
		t.Fatalf("%d runs recorded (%v), want 60", len(list), err)
	}
	for _, sum := range list {
		evs, err := s.Events(ctx, sum.ID)
		if err != nil || len(evs) != 4 || sum.Status != run.Completed {
			t.Fatalf("run %s: status %s, %d events (%v); want completed with 4", sum.ID, sum.Status, len(evs), err)
		}
	}
}

// The child side of TestExitWithoutClose: it records a run and exits without closing the
// database, as pi does at the end of a local run.
func TestStoreExitChild(t *testing.T) {
	path := os.Getenv("PI_STORE_EXIT_CHILD")
	if path == "" {
		t.Skip("runs only as TestExitWithoutClose's child")
	}
	ctx := context.Background()
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	r := newRun("left-open")
	if err := s.Create(ctx, Record{Run: r, File: "p.yaml", Owner: Self()}); err != nil {
		t.Fatal(err)
	}
	r.Steps[0].Status = run.StepCompleted
	if err := s.SaveEvents(ctx, r.ID, []run.Event{stepEvent(r, "a")}); err != nil {
		t.Fatal(err)
	}
	if err := s.Finish(ctx, r.ID, run.Completed); err != nil {
		t.Fatal(err)
	}
	os.Exit(0) // no Close: the log is left for the next opener
}

// A pi that exits without closing the database (cli's Factory.Exits) loses nothing: the
// next process reads what it committed from the log.
func TestExitWithoutClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "runs.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestStoreExitChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PI_STORE_EXIT_CHILD="+path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	if st, err := os.Stat(path + "-wal"); err != nil || st.Size() == 0 {
		t.Fatalf("no log left behind (%v): the child closed the database?", err)
	}
	s, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec, err := s.Get(context.Background(), "left-open")
	if err != nil || rec.Run.Status != run.Completed || rec.Run.Steps[0].Status != run.StepCompleted || rec.Owner != (Owner{}) {
		t.Fatalf("after the writer exited: %+v, %v", rec, err)
	}
}
