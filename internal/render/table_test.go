package render

import (
	"bytes"
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

// The table at 60, 80 and 120 columns, on a terminal (live block and final table cut to
// the width, STATUS whole) and not (never cut), for a remote run and a local one
// (ATTEMPT only there). Rewrite with go test ./internal/render -update.
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
					p := NewProgress(ios, Options{Format: FormatTable, Clock: fixedClock, Tick: 1 << 40, ShowAttempts: local})
					live := endedRun(local)
					live.Status = run.InProgress
					live.Steps[1].Status, live.Steps[1].CompletedAt, live.Steps[1].Error = run.StepProcessing, time.Time{}, ""
					live.Steps[2].Status, live.Steps[2].Error = run.StepPending, ""
					p.Start(live)
					var b bytes.Buffer
					if tty {
						fmt.Fprintf(&b, "--- live block (a %d-column terminal)\n%s\n", w, term)
						for _, l := range term.screen() {
							if visibleWidth(l) >= w {
								t.Errorf("live row is %d wide at %d columns: %q", visibleWidth(l), w, l)
							}
						}
						if !strings.Contains(term.String(), "processing") {
							t.Errorf("live block lost a STATUS:\n%s", term)
						}
					}
					if err := p.Finish(endedRun(local)); err != nil {
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
						if i > 0 && !strings.Contains(l, "✓ completed") && !strings.Contains(l, "✗ failed") && !strings.Contains(l, "○ skipped") {
							t.Errorf("row %d lost its STATUS: %q", i, l)
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
