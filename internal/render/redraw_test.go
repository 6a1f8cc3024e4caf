package render

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// liveOn returns a live table Progress drawing on a w x h emulated terminal (stdout and
// stderr both), with a line already on screen above where it starts.
func liveOn(t *testing.T, w, h int, above string) (Progress, *IOStreams, *vt) {
	t.Helper()
	ios, _, _, _ := Test()
	term := newVT(t, w, h)
	ios.Out, ios.ErrOut = term, term
	ios.SetTTY(true)
	ios.SetColorEnabled(true)
	ios.SetWidth(w)
	ios.SetHeight(h)
	if above != "" {
		fmt.Fprint(term, above+"\n")
	}
	return NewProgress(ios, Options{Format: FormatTable, Clock: fixedClock(), Tick: 1 << 40}), ios, term
}

func longRun() *run.Run {
	r := &run.Run{ID: "f027a242-df39-44cb-943a-c9d220ddaebd", Status: run.InProgress, CreatedAt: fixedNow.Add(-3 * time.Second)}
	r.Steps = []run.Step{
		{ID: "extract_the_brand_of_the_shop_from_its_url", Action: "brands.extract", Status: run.StepCompleted,
			StartedAt: fixedNow.Add(-3 * time.Second), CompletedAt: fixedNow.Add(-time.Second),
			Result: map[string]any{"brand_id": "4fd35a71-71ef-5a55-a9d9-aa75c889a6d0"}},
		{ID: "hero", Action: "campaigns.generate", Status: run.StepProcessing, StartedAt: fixedNow.Add(-time.Second),
			JobID: "7d38a678-385e-4c9e-a203-cfde97608eff"},
		{ID: "localize_fr", Action: "campaigns.localize_ad", Status: run.StepPending},
	}
	return r
}

// The cursor is hidden while the table is drawn and shown again on every way out; every
// frame is one synchronized update.
func TestRedrawCursorHiddenAndRestored(t *testing.T) {
	for _, end := range []string{"finish", "stop", "stop-then-finish"} {
		t.Run(end, func(t *testing.T) {
			p, _, term := liveOn(t, 80, 20, "")
			r := longRun()
			p.Start(r)
			if !term.hidden {
				t.Fatal("cursor not hidden while the table is drawn")
			}
			p.Event(run.Event{}, r)
			p.Warn("slow server")
			if term.syncDepth != 0 {
				t.Fatalf("synchronized output left open (%d)", term.syncDepth)
			}
			switch end {
			case "finish":
				_ = p.Finish(r)
			case "stop":
				p.Stop()
			default:
				p.Stop()
				_ = p.Finish(r)
			}
			if term.hidden {
				t.Fatalf("cursor still hidden after %s", end)
			}
		})
	}
}

// Lines above the table are never erased, warnings and ErrLog lines (--debug) print above
// it and stay, nothing is erased with CSI J, and nothing goes to the scrollback, even with
// the table at the top of the screen.
func TestRedrawKeepsLinesAbove(t *testing.T) {
	for _, above := range []string{"", "$ pi run campaign.yaml"} {
		p, ios, term := liveOn(t, 80, 20, above)
		r := longRun()
		p.Start(r)
		for range 50 {
			p.Event(run.Event{}, r)
		}
		p.Warn("GET /api/v1/runs: 503; still trying")
		fmt.Fprint(ios.ErrLog(), "debug: > GET /api/v1/runs/f027\ndebug: < 200")
		fmt.Fprint(ios.ErrLog(), " OK\n")
		done := r.Clone()
		done.Status = run.Completed
		done.Steps[1].Status, done.Steps[1].CompletedAt = run.StepCompleted, fixedNow
		done.Steps[2].Status = run.StepCompleted
		p.Event(run.Event{}, done)
		if err := p.Finish(done); err != nil {
			t.Fatal(err)
		}
		screen := term.screen()
		if term.erases != 0 {
			t.Errorf("CSI J used %d times", term.erases)
		}
		if len(term.scrollback) != 0 {
			t.Errorf("%d rows pushed into the scrollback: %q", len(term.scrollback), term.scrollback)
		}
		var want []string
		if above != "" {
			want = append(want, above)
		}
		want = append(want, "warning: GET /api/v1/runs: 503; still trying", "debug: > GET /api/v1/runs/f027", "debug: < 200 OK", "STATUS")
		if len(screen) < len(want) {
			t.Fatalf("screen:\n%s", term)
		}
		for i, w := range want {
			if !strings.HasPrefix(screen[i], w) {
				t.Errorf("row %d = %q, want it to start with %q\n%s", i, screen[i], w, term)
			}
		}
		if n := strings.Count(term.String(), "STATUS "); n != 1 {
			t.Errorf("%d table headers on screen, want the final one only:\n%s", n, term)
		}
		if strings.Contains(term.String(), "run f027a242-df39-44cb-943a-c9d220ddaebd  in_progress") {
			t.Errorf("a live header was left on screen:\n%s", term)
		}
	}
}

// A narrower window rewraps the drawn block onto more rows; the next frame finds and
// overwrites all of them, so no dead row stays above the final table.
func TestRedrawAfterResize(t *testing.T) {
	p, ios, term := liveOn(t, 120, 30, "$ pi run campaign.yaml")
	r := longRun()
	p.Start(r)
	p.Event(run.Event{}, r)
	for _, w := range []int{70, 50} {
		term.resize(w)
		ios.SetWidth(w)
		p.Event(run.Event{}, r)
		// the new block and nothing else: no rewrapped part of a wider frame is left
		rows := term.screen()[1:]
		for len(rows) > 0 && rows[len(rows)-1] == "" {
			rows = rows[:len(rows)-1]
		}
		if len(rows) != 5 || !strings.HasPrefix(rows[0], "run ") || !strings.HasPrefix(rows[1], "STATUS") {
			t.Errorf("width %d: want the header and a table of 3 steps under the prompt:\n%s", w, term)
		}
		for i, l := range rows {
			if visibleWidth(l) >= w {
				t.Errorf("width %d: row %d is %d wide: %q", w, i+1, visibleWidth(l), l)
			}
		}
		if n := strings.Count(term.String(), "STATUS "); n != 1 {
			t.Fatalf("width %d: %d table headers on screen:\n%s", w, n, term)
		}
	}
	if err := p.Finish(r); err != nil {
		t.Fatal(err)
	}
	screen := term.screen()
	if screen[0] != "$ pi run campaign.yaml" || !strings.HasPrefix(screen[1], "STATUS") {
		t.Fatalf("want the prompt line then the final table:\n%s", term)
	}
	if n := strings.Count(term.String(), "STATUS "); n != 1 {
		t.Fatalf("%d table headers after the end:\n%s", n, term)
	}
}

// Ctrl-C: the terminal echoes ^C under the table; Stop draws the block once more (no
// spinner), erases the ^C and leaves the cursor on an empty line of its own.
func TestRedrawCtrlC(t *testing.T) {
	p, _, term := liveOn(t, 80, 20, "")
	r := longRun()
	p.Start(r)
	fmt.Fprint(term, "^C")
	p.Stop()
	fmt.Fprint(term, "interrupted: run f027 goes on on the server\n")
	screen := term.screen()
	last := screen[len(screen)-1]
	if last != "interrupted: run f027 goes on on the server" {
		t.Errorf("last row = %q, want the message alone\n%s", last, term)
	}
	if !strings.Contains(term.String(), "▸ processing") {
		t.Errorf("the block after Stop should show running steps without a spinner:\n%s", term)
	}
	if term.hidden {
		t.Error("cursor hidden after Stop")
	}
}

// Ctrl-C in a local run: the run ends cancelled and Finish replaces the table; the echoed
// ^C under the live block is erased with it.
func TestFinishErasesEchoedCtrlC(t *testing.T) {
	p, _, term := liveOn(t, 80, 20, "")
	r := longRun()
	p.Start(r)
	fmt.Fprint(term, "^C")
	done := r.Clone()
	done.Status = run.Cancelled
	done.Steps = done.Steps[:1]
	done.Steps[0].Result = nil // a short final table: the ^C row is below it
	if err := p.Finish(done); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(term.String(), "^C") {
		t.Errorf("the echoed ^C stayed:\n%s", term)
	}
	if testing.Verbose() {
		t.Logf("screen:\n%s", term)
	}
}

// On a terminal too narrow for even the smallest table, lines wrap as drawn; the next
// frame still finds every row.
func TestRedrawTooNarrow(t *testing.T) {
	p, _, term := liveOn(t, 14, 60, "$ pi")
	r := longRun()
	p.Start(r)
	for range 5 {
		p.Event(run.Event{}, r)
	}
	if err := p.Finish(r); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(term.String(), "STATUS"); n != 1 || term.screen()[0] != "$ pi" {
		t.Errorf("%d table headers, first row %q:\n%s", n, term.screen()[0], term)
	}
}

// A live table abandoned without Stop (a panic unwinding the command): RestoreTerminal,
// deferred by the command runner, shows the cursor again; after a proper end it writes
// nothing.
func TestRestoreTerminal(t *testing.T) {
	p, ios, term := liveOn(t, 80, 20, "")
	p.Start(longRun())
	if !term.hidden {
		t.Fatal("cursor not hidden")
	}
	ios.RestoreTerminal()
	if term.hidden {
		t.Fatal("RestoreTerminal left the cursor hidden")
	}
	p.Stop()
	ios2, _, _, errOut := Test()
	ios2.RestoreTerminal()
	if errOut.Len() != 0 {
		t.Fatalf("RestoreTerminal wrote %q with no live table", errOut)
	}
}

// --debug lines may come from another goroutine while the table starts, redraws and
// stops: no deadlock, no race, every line kept.
func TestErrLogConcurrent(t *testing.T) {
	p, ios, term := liveOn(t, 80, 300, "")
	r := longRun()
	p.Start(r) // before it, ErrLog writes to stderr directly (a file: safe; the vt: not)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			fmt.Fprintf(ios.ErrLog(), "debug: line %d\n", i)
		}
	}()
	for range 50 {
		p.Event(run.Event{}, r)
	}
	<-done
	p.Stop()
	for i := range 200 {
		if !strings.Contains(term.String(), fmt.Sprintf("debug: line %d\n", i)) {
			t.Fatalf("debug line %d lost:\n%s", i, term)
		}
	}
}
