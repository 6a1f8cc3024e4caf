package render

import (
	"fmt"
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/run"
)

// manySteps is an in-progress run of n steps: the first third completed, steps 10 and 20
// processing, step 15 failed, the rest pending.
func manySteps(n int) *run.Run {
	r := &run.Run{ID: "f027a242-df39-44cb-943a-c9d220ddaebd", Status: run.InProgress}
	for i := range n {
		s := run.Step{ID: fmt.Sprintf("step_%02d", i), Action: "shell.run", Status: run.StepPending}
		switch {
		case i == 10 || i == 20:
			s.Status, s.StartedAt = run.StepProcessing, fixedNow
		case i == 15:
			s.Status, s.Error = run.StepFailed, "boom"
		case i < n/3:
			s.Status = run.StepCompleted
		}
		r.Steps = append(r.Steps, s)
	}
	return r
}

// On a terminal shorter than the run, the live block keeps to the height (a block that
// scrolls cannot be redrawn in place), shows the running and failed steps, and counts the
// rest.
func TestLiveTableFitsHeight(t *testing.T) {
	for _, h := range []int{12, 50} {
		ios, _, _, _ := Test()
		term := newVT(t, 100, h)
		ios.Out, ios.ErrOut = term, term
		ios.SetTTY(true)
		ios.SetWidth(100)
		ios.SetHeight(h)
		p := NewProgress(ios, Options{Format: FormatTable, Clock: fixedClock(), Tick: 1 << 40})
		p.Start(manySteps(40))
		p.Event(run.Event{}, manySteps(40))
		p.Stop()
		block := term.String()
		if len(term.scrollback) > 0 {
			t.Fatalf("height %d: the live block scrolled %d rows:\n%s", h, len(term.scrollback), block)
		}
		if h == 50 {
			if strings.Contains(block, "more steps") || !strings.Contains(block, "step_39") {
				t.Fatalf("a 50-line terminal should show all 40 steps:\n%s", block)
			}
			continue
		}
		if n := len(term.screen()); n > h-1 {
			t.Fatalf("live block is %d lines on a %d-line terminal:\n%s", n, h, block)
		}
		for _, want := range []string{"step_10", "step_15", "step_20", "… 32 more steps (12 completed, 20 pending)"} {
			if !strings.Contains(block, want) {
				t.Errorf("live block lacks %q:\n%s", want, block)
			}
		}
	}
}

// A line that would repeat the last one of its step (or run) is left out; a job id is named
// once, when the job starts.
func TestEventLinesDropRepeats(t *testing.T) {
	ios, _, _, errOut := Test()
	p := NewProgress(ios, Options{Format: FormatPlain, Clock: fixedClock(), ShowAttempts: true})
	r := &run.Run{ID: "f027a242-df39-44cb-943a-c9d220ddaebd", Status: run.InProgress, Steps: []run.Step{{ID: "a", Action: "brands.extract"}}}
	p.Start(r)
	p.Event(run.Event{Time: fixedNow, RunID: r.ID, Status: "in_progress"}, r)
	p.Event(run.Event{Time: fixedNow, RunID: r.ID, StepID: "a", Status: "processing", Attempt: 1}, r)
	p.Event(run.Event{Time: fixedNow, RunID: r.ID, StepID: "a", Status: "processing", Attempt: 1, JobID: "job-1"}, r)
	p.Event(run.Event{Time: fixedNow, RunID: r.ID, StepID: "a", Status: "processing", Attempt: 1, JobID: "job-1"}, r)
	p.Event(run.Event{Time: fixedNow, RunID: r.ID, StepID: "a", Status: "completed", Attempt: 1, JobID: "job-1"}, r)
	p.Stop()
	want := "2026-11-28T13:00:01Z  run f027a242-df39-44cb-943a-c9d220ddaebd  in_progress\n" +
		"2026-11-28T13:00:01Z  a  processing  attempt 1\n" +
		"2026-11-28T13:00:01Z  a  processing  attempt 1  job job-1\n" +
		"2026-11-28T13:00:01Z  a  completed  attempt 1\n"
	if got := errOut.String(); got != want {
		t.Fatalf("event lines:\n%s\nwant:\n%s", got, want)
	}
}

// Without a terminal and without COLUMNS there is no width limit: a pipe or a CI log gets
// every DETAIL in full.
func TestNoWidthLimitWithoutTerminal(t *testing.T) {
	ios, _, out, _ := Test()
	ios.SetWidth(0)
	if w := ios.Width(); w != 0 {
		t.Fatalf("Width() = %d without a terminal or COLUMNS, want 0 (no limit)", w)
	}
	r := &run.Run{ID: "f027a242-df39-44cb-943a-c9d220ddaebd", Status: run.Completed, Steps: []run.Step{{
		ID: "hero", Action: "campaigns.generate", Status: run.StepCompleted,
		Result: map[string]any{"image_url": "https://cdn.example.test/" + strings.Repeat("x", 120) + ".png"},
	}}}
	if err := NewProgress(ios, Options{Format: FormatPlain, Clock: fixedClock()}).Finish(r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "image_url=https://cdn.example.test/"+strings.Repeat("x", 120)+".png") {
		t.Fatalf("the DETAIL was cut:\n%s", out.String())
	}
	ios.SetGetenv(func(k string) string {
		if k == "COLUMNS" {
			return "60"
		}
		return ""
	})
	if w := ios.Width(); w != 60 {
		t.Fatalf("Width() = %d with COLUMNS=60", w)
	}
}

// stdout that is not a terminal is never cut, even when stderr is a narrow terminal (pi run
// > out.txt at a 60-column terminal) or COLUMNS is set.
func TestStdoutNotTerminalNeverCut(t *testing.T) {
	long := "https://cdn.example.test/" + strings.Repeat("y", 150) + ".png"
	r := &run.Run{ID: "f027a242-df39-44cb-943a-c9d220ddaebd", Status: run.Completed, Steps: []run.Step{{
		ID: strings.Repeat("s", 40), Action: "campaigns.generate", Status: run.StepCompleted,
		Result: map[string]any{"image_url": long},
	}}}
	for _, format := range []Format{FormatTable, FormatPlain} {
		ios, _, out, _ := Test()
		ios.stderrTTY = true
		ios.SetWidth(60)
		ios.SetGetenv(func(k string) string {
			if k == "COLUMNS" {
				return "60"
			}
			return ""
		})
		if err := NewProgress(ios, Options{Format: format, Clock: fixedClock()}).Finish(r); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out.String(), "image_url="+long) || !strings.Contains(out.String(), strings.Repeat("s", 40)+"  ") {
			t.Errorf("%s: stdout (not a terminal) was cut:\n%s", format, out)
		}
		if strings.Contains(out.String(), "…") {
			t.Errorf("%s: a cut mark on stdout:\n%s", format, out)
		}
	}
}
