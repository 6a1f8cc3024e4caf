package render

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// An event that carries its step costs the same in a run of 1,000 steps as in one of
// 10,000, in every format: the Progress updates its copy of that step, it never copies or
// scans the run per event (the live table of a run that does not fit redraws at its tick).
func TestEventWorkIndependentOfRunSize(t *testing.T) {
	for _, format := range []Format{FormatPlain, FormatJSONL, FormatTable} {
		t.Run(string(format), func(t *testing.T) {
			per := func(n int) (allocs, bytes float64) {
				ios, _, out, errOut := Test()
				if format == FormatTable {
					ios.SetTTY(true)
					ios.SetHeight(30)
				}
				r := manySteps(n)
				p := NewProgress(ios, Options{Format: format, Clock: fixedClock(), Tick: 1 << 40, ShowAttempts: true})
				p.Start(r)
				defer p.Stop()
				k := 0
				event := func() {
					i := (k * 7919) % n // spread over the run, not only its start
					k++
					st := r.Steps[i]
					st.Status, st.Attempts = run.StepProcessing, k
					p.Event(run.Event{Time: fixedNow, RunID: r.ID, StepID: st.ID, Status: string(st.Status), Attempt: k, Step: &st, Index: i}, nil)
					out.Reset()
					errOut.Reset()
				}
				allocs = testing.AllocsPerRun(500, event)
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				const events = 500
				for range events {
					event()
				}
				runtime.ReadMemStats(&after)
				return allocs, float64(after.TotalAlloc-before.TotalAlloc) / events
			}
			small, smallBytes := per(1000)
			big, bigBytes := per(10_000)
			if big > small*1.2+2 || bigBytes > smallBytes*1.2+512 {
				t.Errorf("per event: %.1f allocations, %.0f bytes with 10,000 steps; %.1f, %.0f with 1,000: the work grows with the run",
					big, bigBytes, small, smallBytes)
			}
		})
	}
}

// The events alone keep the live table's view of the run: every step as its last event
// left it, without the caller's run being changed.
func TestEventsKeepTheRun(t *testing.T) {
	ios, _, _, _ := Test()
	ios.SetTTY(true)
	ios.SetHeight(30)
	r := manySteps(3000)
	p := newLiveProgress(newBase(ios, Options{Format: FormatTable, Clock: fixedClock(), Tick: 1 << 40}))
	p.Start(r)
	for i := range r.Steps {
		st := r.Steps[i]
		st.Status, st.Attempts, st.Result = run.StepCompleted, 1, map[string]any{"n": i}
		p.Event(run.Event{RunID: r.ID, StepID: st.ID, Status: "completed", Step: &st, Index: i}, nil)
	}
	p.Event(run.Event{RunID: r.ID, Status: "completed"}, nil)
	p.Stop()
	if r.Steps[len(r.Steps)-1].Status != run.StepPending {
		t.Fatal("the Progress changed the caller's run")
	}
	got := p.last
	if got.Status != run.Completed {
		t.Errorf("run %s, want completed", got.Status)
	}
	for i := range got.Steps {
		if s := got.Steps[i]; s.Status != run.StepCompleted || s.Result["n"] != i {
			t.Fatalf("step %d = %+v", i, s)
		}
	}
}

// The live table of a run far bigger than the terminal shows the header, the running and
// failed steps, and one line counting the rest, within the terminal.
func TestLiveTableOfAHugeRun(t *testing.T) {
	r := manySteps(100_000)
	for _, i := range []int{50_000, 99_998} {
		r.Steps[i].Status = run.StepProcessing
	}
	r.Steps[77_777].Status, r.Steps[77_777].Error = run.StepFailed, "exit 1"
	cut, more := fitRows(r, 20)
	var ids []string
	for _, s := range cut.Steps {
		ids = append(ids, s.ID)
	}
	for _, want := range []string{"step_10", "step_20", "step_50000", "step_99998", "step_15", "step_77777"} {
		if !strings.Contains(" "+strings.Join(ids, " ")+" ", " "+want+" ") {
			t.Errorf("rows %v lack %s", ids, want)
		}
	}
	if len(cut.Steps) != 18 {
		t.Errorf("%d rows for a 20-line table (header and count line included)", len(cut.Steps))
	}
	if want := fmt.Sprintf("… %d more steps (", 100_000-18); !strings.HasPrefix(more, want) || !strings.Contains(more, "completed") {
		t.Errorf("count line %q", more)
	}
}
