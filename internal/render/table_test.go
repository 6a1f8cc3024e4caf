package render

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/lipgloss"

	"github.com/pi-cli/pi/internal/run"
)

// endedRun is longRun at its end: a failed step with a long error, a skipped dependent.
func endedRun(local bool) *run.Run {
	r := longRun()
	r.Status = run.Failed
	r.UpdatedAt = fixedNow
	r.Steps[1].Status, r.Steps[1].CompletedAt = run.StepFailed, fixedNow
	r.Steps[1].Error = "upstream_timeout: the image model did not answer within 120 s; retry later or pick another model"
	r.Steps[2].Status, r.Steps[2].Error = run.StepSkipped, "dependency hero failed"
	if local {
		ms := 365 * time.Millisecond
		r.CreatedAt = r.CreatedAt.Add(ms)
		for i := range r.Steps {
			s := &r.Steps[i]
			s.Attempts = 1
			if !s.StartedAt.IsZero() {
				s.StartedAt = s.StartedAt.Add(ms)
			}
		}
		r.Steps[1].Attempts = 3
		r.UpdatedAt = r.UpdatedAt.Add(ms + 2*time.Millisecond)
		r.Steps[1].CompletedAt = r.UpdatedAt
	}
	return r
}

// tableRun is endedRun with two expansions of a matrix, whose long ids differ at their end
// only. live is the run as it goes: hero processing, the rest to come.
func tableRun(local, live bool) *run.Run {
	r := endedRun(local)
	for _, m := range []string{"french-urban", "german-minimal"} {
		r.Steps = append(r.Steps, run.Step{ID: "localize-premium-square-" + m, Action: "campaigns.localize_ad",
			Status: run.StepSkipped, Error: "dependency hero failed"})
	}
	if live {
		r.Status = run.InProgress
		r.Steps[1].Status, r.Steps[1].CompletedAt, r.Steps[1].Error = run.StepProcessing, time.Time{}, ""
		for i := 2; i < len(r.Steps); i++ {
			r.Steps[i].Status, r.Steps[i].Error = run.StepPending, ""
		}
	}
	return r
}

// The table at 60, 80 and 120 columns, on a terminal (live block and final table cut to
// the width, STATUS whole, DETAIL given the rest) and not (never cut), for a remote run
// and a local one whose failed step was retried (ATTEMPT only there). Rewrite with
// go test ./internal/render -update.
func TestTableGolden(t *testing.T) {
	for _, local := range []bool{false, true} {
		for _, w := range []int{60, 80, 120} {
			for _, tty := range []bool{true, false} {
				kind := map[bool]string{false: "remote", true: "local"}[local]
				mode := map[bool]string{false: "pipe", true: "tty"}[tty]
				name := fmt.Sprintf("table-%s-%d-%s", kind, w, mode)
				t.Run(name, func(t *testing.T) {
					ios, _, out, errOut := Test()
					term := newVT(t, w, 20)
					ios.SetWidth(w)
					ios.SetHeight(20)
					if tty {
						ios.SetTTY(true)
						ios.ErrOut = term
					}
					p := NewProgress(ios, Options{Format: FormatTable, Clock: fixedClock(), Tick: 1 << 40, ShowAttempts: local})
					p.Start(tableRun(local, true))
					var b bytes.Buffer
					if tty {
						fmt.Fprintf(&b, "--- live block (a %d-column terminal)\n%s\n", w, term)
						for _, l := range term.screen() {
							if visibleWidth(l) >= w {
								t.Errorf("live row is %d wide at %d columns: %q", visibleWidth(l), w, l)
							}
						}
						if !strings.Contains(term.String(), "processing") || !strings.Contains(term.String(), "1/5 done · ") {
							t.Errorf("live block lost a STATUS or the count:\n%s", term)
						}
						if !strings.Contains(term.String(), "DETAIL") || !strings.Contains(term.String(), "job 7d38") {
							t.Errorf("live block without DETAIL:\n%s", term)
						}
					}
					if err := p.Finish(tableRun(local, false)); err != nil {
						t.Fatal(err)
					}
					fmt.Fprintf(&b, "--- stdout\n%s", out)
					if !tty {
						fmt.Fprintf(&b, "--- stderr\n%s", errOut)
					}
					for i, l := range strings.Split(strings.SplitN(out.String(), "\n\n", 2)[0], "\n") {
						if tty && visibleWidth(l) > w {
							t.Errorf("row %d is %d wide at %d columns: %q", i, visibleWidth(l), w, l)
						}
						if i > 0 && !strings.HasPrefix(l, "✓ completed") && !strings.HasPrefix(l, "✗ failed") && !strings.HasPrefix(l, "○ skipped") {
							t.Errorf("row %d does not start with its STATUS: %q", i, l)
						}
						if i > 0 && !strings.Contains(l, "upstream_") && !strings.Contains(l, "brand_id=") && !strings.Contains(l, "dependenc") {
							t.Errorf("row %d has no DETAIL: %q", i, l)
						}
					}
					if strings.Contains(out.String(), "ATTEMPT") != local {
						t.Errorf("ATTEMPT column shown = %v for a %s run", !local, kind)
					}
					golden(t, name, b.Bytes())
				})
			}
		}
	}
}

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		d       time.Duration
		precise bool
		want    string
	}{
		{365 * time.Millisecond, true, "365ms"}, {12345 * time.Millisecond, true, "12.3s"},
		{65 * time.Second, true, "1m05s"}, {2*time.Hour + 3*time.Minute, true, "2h03m"},
		{0, false, "<1s"}, {2 * time.Second, false, "~2s"}, {13 * time.Second, false, "~13s"},
		{65 * time.Second, false, "~1m05s"}, {-time.Second, true, "0ms"},
	} {
		if got := Duration(tc.d, tc.precise); got != tc.want {
			t.Errorf("Duration(%v, %v) = %q, want %q", tc.d, tc.precise, got, tc.want)
		}
	}
}

// The summary, runs get and runs list read one definition: created to last change, to the
// millisecond for a local run (what the store keeps), in whole seconds for a remote one.
func TestRunDuration(t *testing.T) {
	local := endedRun(true)
	if got := RunDurationText(local, fixedNow.Add(time.Hour)); got != "3.0s" {
		t.Errorf("local run = %q, want 3.0s", got)
	}
	stored := local.Clone()
	stored.CreatedAt = time.UnixMilli(local.CreatedAt.UnixMilli())
	stored.UpdatedAt = time.UnixMilli(local.UpdatedAt.UnixMilli())
	if a, b := RunDurationText(local, fixedNow), RunDurationText(stored, fixedNow); a != b {
		t.Errorf("live %q and stored %q disagree", a, b)
	}
	remote := endedRun(false)
	if got := RunDurationText(remote, fixedNow.Add(time.Hour)); got != "~3s" {
		t.Errorf("remote run = %q, want ~3s", got)
	}
	remote.Status = run.InProgress
	if got := RunDurationText(remote, fixedNow.Add(1500*time.Millisecond)); got != "~5s" {
		t.Errorf("running remote run = %q, want ~5s", got)
	}
}

// A cut step id keeps both ends, so a matrix's expansions stay apart in a narrow table.
func TestTruncateMiddleKeepsIdsApart(t *testing.T) {
	ids := []string{"localize-french-urban-premium", "localize-german-minimalist", "localize-japanese-tokyo-youth", "localize-brazilian-festive"}
	for _, w := range []int{5, 8, 10, 14} {
		seen := map[string]bool{}
		for _, id := range ids {
			got := truncateMiddle(id, w)
			if lipgloss.Width(got) > w || !strings.Contains(got, "…") || seen[got] {
				t.Errorf("truncateMiddle(%q, %d) = %q (width %d, seen %v)", id, w, got, lipgloss.Width(got), seen[got])
			}
			seen[got] = true
		}
	}
	for _, tt := range []struct {
		in   string
		w    int
		want string
	}{
		{"hero", 10, "hero"},
		{"localize-french-urban-premium", 10, "loc…remium"},
		{"abcdef", 4, "abc…"}, // too narrow for two ends: the head alone
		{"日本語のステップ名", 9, "日…ップ名"},
	} {
		if got := truncateMiddle(tt.in, tt.w); got != tt.want {
			t.Errorf("truncateMiddle(%q, %d) = %q, want %q", tt.in, tt.w, got, tt.want)
		}
	}
}

// The columns are laid out from all of a run's steps, not from the rows a frame shows: in a
// terminal too short for the run, a long id further down keeps STEP as wide from the first
// frame to the last, and ATTEMPT comes with the first retry (not before) and stays.
func TestLiveColumnsStable(t *testing.T) {
	ios, _, _, _ := Test()
	term := newVT(t, 100, 12)
	ios.Out, ios.ErrOut = term, term
	ios.SetTTY(true)
	ios.SetWidth(100)
	ios.SetHeight(12)
	r := manySteps(40)
	r.Steps[39].ID = "localize-premium-square-german-minimal" // not among the rows shown at first
	clk := fixedClock()
	p := NewProgress(ios, Options{Format: FormatTable, Clock: clk, Tick: time.Second})
	p.Start(r)
	// a run that does not fit is redrawn at each tick: one tick after each snapshot
	frame := func(snap *run.Run) {
		p.Event(run.Event{}, snap)
		ctx := context.Background()
		if err := clk.BlockUntil(ctx, 1); err != nil {
			t.Fatal(err)
		}
		clk.Advance(time.Second)
		if err := clk.BlockUntil(ctx, 1); err != nil { // redrawn, waiting for the next tick
			t.Fatal(err)
		}
	}
	header := func() string {
		for _, l := range term.screen() {
			if strings.HasPrefix(l, "STATUS") {
				return l
			}
		}
		t.Fatalf("no table header:\n%s", term)
		return ""
	}
	first := header()
	if strings.Contains(term.String(), "german") || strings.Contains(first, "ATTEMPT") {
		t.Fatalf("first frame shows the last step, or ATTEMPT before any retry:\n%s", term)
	}
	if want := "STEP" + strings.Repeat(" ", len(r.Steps[39].ID)-len("STEP")+gapWidth) + "ACTION"; !strings.Contains(first, want) {
		t.Errorf("STEP is not as wide as the longest id of the run:\n%s", first)
	}
	for i := range 30 {
		r = r.Clone()
		r.Steps[i].Status = run.StepCompleted
		r.Steps[39].Status = run.StepProcessing // shown now
		frame(r)
		if got := header(); got != first {
			t.Fatalf("frame %d: header %q, was %q:\n%s", i, got, first, term)
		}
	}
	r = r.Clone()
	if !strings.Contains(term.String(), "localize-premium-square-german-minimal  shell.run") {
		t.Fatalf("the long id is not shown whole:\n%s", term)
	}
	r.Steps[20].Attempts = 2
	frame(r)
	if !strings.Contains(header(), "ATTEMPT") {
		t.Errorf("no ATTEMPT column after a retry:\n%s", term)
	}
	r = r.Clone()
	r.Steps[20].Attempts = 0 // a snapshot that lost the count (a remote view): the column stays
	frame(r)
	if !strings.Contains(header(), "ATTEMPT") {
		t.Errorf("ATTEMPT column went away:\n%s", term)
	}
	p.Stop()
}

// The header counts the steps done and the time since the run began, on the Progress's
// clock: the ticker redraws it as the clock moves, without any sleep.
func TestLiveHeaderCountsAndElapsed(t *testing.T) {
	ios, _, _, _ := Test()
	term := newVT(t, 80, 20)
	ios.Out, ios.ErrOut = term, term
	ios.SetTTY(true)
	ios.SetWidth(80)
	ios.SetHeight(20)
	clk := fixedClock()
	p := NewProgress(ios, Options{Format: FormatTable, Clock: clk, Tick: 100 * time.Millisecond})
	r := tableRun(false, true)
	r.CreatedAt = fixedNow
	p.Start(r)
	if got := term.screen()[0]; got != "run f027a242-df39-44cb-943a-c9d220ddaebd  in_progress  1/5 done · 0s" {
		t.Fatalf("header %q", got)
	}
	ctx := context.Background()
	for _, want := range []string{"1/5 done · 0s", "1/5 done · 1s", "1/5 done · 1m05s"} {
		if err := clk.BlockUntil(ctx, 1); err != nil { // the ticker waits for its next tick
			t.Fatal(err)
		}
		if got := term.screen()[0]; !strings.HasSuffix(got, want) {
			t.Errorf("header %q, want it to end with %q", got, want)
		}
		switch want {
		case "1/5 done · 0s":
			clk.Advance(time.Second)
		case "1/5 done · 1s":
			clk.Advance(64 * time.Second)
		}
	}
	p.Stop()
}

// At every width from 14 columns up, every row of the table fits and starts with its
// STATUS whole; DETAIL is there from 46 columns up (55 with ATTEMPT: STEP at idFloor and
// DETAIL at detailMin).
func TestTableFitsEveryWidth(t *testing.T) {
	for _, local := range []bool{false, true} {
		r := tableRun(local, false)
		sh := measure(r)
		from := map[bool]int{false: 46, true: 55}[local]
		for w := 14; w <= 130; w++ {
			lines := table(newStyles(nil, false, nil), r, sh.layout(w), fixedNow, -1, view{})
			for i, l := range lines {
				if visibleWidth(l) > w {
					t.Errorf("local %v, width %d: row %d is %d wide: %q", local, w, i, visibleWidth(l), l)
				}
				if i > 0 && !strings.HasPrefix(l, "✓ completed") && !strings.HasPrefix(l, "✗ failed") && !strings.HasPrefix(l, "○ skipped") {
					t.Errorf("local %v, width %d: row %d = %q", local, w, i, l)
				}
			}
			if hasDetail := strings.HasSuffix(lines[0], "DETAIL"); hasDetail != (w >= from) {
				t.Errorf("local %v, width %d: DETAIL shown %v:\n%s", local, w, hasDetail, strings.Join(lines, "\n"))
			}
		}
	}
}
