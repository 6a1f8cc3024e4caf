package cli

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// After kill -9 a run's record still says in_progress, and its pi's pid may be given to
// another process. That process is not the run's owner: runs list shows the run
// interrupted, runs get --wait does not wait for it, and --resume continues it. The reuse
// is simulated with a record naming this test's own pid with another start time.
func TestReusedPIDIsNotTheOwner(t *testing.T) {
	me := store.Self()
	if me.Start == "" {
		t.Skip("process start times are not read on this system: the pid alone decides")
	}
	dir := t.TempDir()
	st, err := store.Open(context.Background(), filepath.Join(dir, "pi", "runs.db"))
	if err != nil {
		t.Fatal(err)
	}
	id := "0b5d4c1e-1111-4222-8333-444455556666"
	r := &run.Run{ID: id, Status: run.InProgress, Steps: []run.Step{{ID: "a", Action: "shell.run", Status: run.StepProcessing}}}
	reused := store.Owner{Host: me.Host, PID: os.Getpid(), Start: me.Start + "0"}
	err = st.Create(context.Background(), store.Record{Run: r, File: "p.yaml",
		Pipeline: []byte("steps: [{id: a, action: shell.run, input: {command: [true]}}]"), Owner: reused})
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string // in stdout+stderr
	}{
		{[]string{"runs", "list"}, 0, "interrupted"},
		{[]string{"runs", "get", id, "--wait", "--timeout", "10s", "-o", "plain"}, ExitRunFailed, "its pi process " + strconv.Itoa(os.Getpid()) + " is gone"},
		{[]string{"run", "--resume", id, "-o", "plain"}, 0, "was interrupted (its pi process " + strconv.Itoa(os.Getpid()) + " is gone)"},
	} {
		f, _ := localFactory(t, dir)
		code := Execute(context.Background(), f, tt.args)
		out := f.IO.Out.(interface{ String() string }).String() + f.IO.ErrOut.(interface{ String() string }).String()
		if code != tt.code || !strings.Contains(out, tt.want) {
			t.Errorf("pi %s: exit %d, want %d and %q in:\n%s", strings.Join(tt.args, " "), code, tt.code, tt.want, out)
		}
	}
	if got := storedRun(t, dir, id); got.Status != run.Completed {
		t.Errorf("resumed run %s, want completed", got.Status)
	}
}
