package render

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// SummaryMarkdown is the job summary section of a run, at most MaxSummary bytes, as pi
// writes it.
func SummaryMarkdown(r *run.Run, now time.Time, stopped bool) string {
	return summaryMarkdown(r, now, stopped, MaxSummary)
}

// hostile is a failed run whose server said everything a summary must not pass on raw.
func hostile() *run.Run {
	t0 := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)
	return &run.Run{ID: "9f175af9-589b-44e8-86b9-1a434702245a", Status: run.Failed, CreatedAt: t0, UpdatedAt: t0.Add(3 * time.Second),
		Steps: []run.Step{
			{ID: "hero|<b>x</b>", Action: "campaigns.generate", Status: run.StepCompleted, StartedAt: t0, CompletedAt: t0.Add(time.Second),
				Result: map[string]any{"image_url": `https://img.test/a.png?x="><script>alert(1)</script>(y)`}},
			{ID: "js", Action: "campaigns.generate", Status: run.StepCompleted, StartedAt: t0, CompletedAt: t0.Add(time.Second),
				Result: map[string]any{"image_url": "javascript:alert(1)"}},
			{ID: "bad*_`", Action: "campaigns.edit", Status: run.StepFailed, StartedAt: t0, CompletedAt: t0.Add(2 * time.Second),
				Error: "boom | [link](http://evil.test) \x1b[31m<img src=x onerror=alert(1)>\nat line 2\n</pre><script>x</script>"},
			{ID: "after", Action: "campaigns.edit", Status: run.StepSkipped, Error: "dependency_failed"},
			{ID: "never", Action: "brands.extract", Status: run.StepPending},
		}}
}

func TestSummaryGolden(t *testing.T) {
	for _, tt := range []struct {
		name    string
		r       *run.Run
		stopped bool
	}{
		{"completed", fixture(t, "runs-get-completed.json"), false},
		{"failed", fixture(t, "runs-get-failed.json"), false},
		{"in-progress-stopped", fixture(t, "runs-get-in-progress.json"), true},
		{"escaped", hostile(), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			golden(t, "summary-"+tt.name+".md", []byte(SummaryMarkdown(tt.r, fixedNow, tt.stopped)))
		})
	}
}

func TestSummaryEscapes(t *testing.T) {
	md := SummaryMarkdown(hostile(), fixedNow, false)
	for _, bad := range []string{"<script", "<b>", "<img src=x", `href="javascript`, `src="javascript`, "](javascript", "\x1b", "</pre><"} {
		if strings.Contains(md, bad) {
			t.Errorf("summary contains %q:\n%s", bad, md)
		}
	}
	// Every table row has exactly the five cells of the header.
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "| ") {
			continue
		}
		if n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|"); n != 6 {
			t.Errorf("row with %d separators: %s", n, line)
		}
	}
}

func TestSummaryWrittenByProgress(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(path, []byte("# earlier step\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"GITHUB_STEP_SUMMARY": path}
	r := fixture(t, "runs-get-completed.json")

	// Asked for (pi run, runs get --wait): appended, once, even with a Stop after Finish.
	for _, f := range []Format{FormatTable, FormatJSON, FormatJSONL} {
		s := newStreams(false, false, env)
		p := NewProgress(s.ios, Options{Format: f, Clock: fixedClock(), JobSummary: true})
		if err := play(p, r); err != nil {
			t.Fatal(err)
		}
		p.Stop()
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "# earlier step\n### ✅ Run ") || strings.Count(string(b), "### ✅ Run "+r.ID) != 3 {
		t.Errorf("summary file:\n%s", b)
	}

	// Not asked for (runs get without --wait), or the variable unset: nothing written.
	before := len(b)
	s := newStreams(false, false, env)
	if err := play(NewProgress(s.ios, Options{Clock: fixedClock()}), r); err != nil {
		t.Fatal(err)
	}
	s = newStreams(false, false, nil)
	if err := play(NewProgress(s.ios, Options{Clock: fixedClock(), JobSummary: true}), r); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); len(b) != before {
		t.Error("a summary was written that was not asked for")
	}

	// Stopped before the end (timeout, Ctrl-C): the state it was left in.
	s = newStreams(false, false, env)
	p := NewProgress(s.ios, Options{Clock: fixedClock(), JobSummary: true})
	live := fixture(t, "runs-get-in-progress.json")
	p.Start(live)
	p.Stop()
	if b, _ := os.ReadFile(path); !strings.Contains(string(b), "in\\_progress (pi stopped following it)") {
		t.Errorf("stopped summary missing:\n%s", b[before:])
	}

	// An unwritable file is a warning, not a failure of the run.
	s = newStreams(false, false, map[string]string{"GITHUB_STEP_SUMMARY": filepath.Join(t.TempDir(), "no", "such", "dir")})
	if err := play(NewProgress(s.ios, Options{Clock: fixedClock(), JobSummary: true}), r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.errOut.String(), "warning: could not write the GitHub job summary") {
		t.Errorf("stderr %q", s.errOut.String())
	}
}

// A table section (a batch's rows) is escaped as a run's, and cut to the room it is given.
func TestSummaryTable(t *testing.T) {
	tb := SummaryTable{Title: "Batch b1: 1 failed", Text: "p.yaml once per row", Header: []string{"Row", "Params"},
		Rows: [][]string{{"1", "a=x|y <b>"}, {"2", "a=z"}}}
	md := tb.markdown(MaxSummary)
	if !strings.Contains(md, "| 1 | a=x\\|y &lt;b&gt; |\n| 2 | a=z |\n") || !strings.HasPrefix(md, "### Batch b1: 1 failed\n\np.yaml once per row\n\n| Row | Params |\n| --- | --- |\n") {
		t.Fatalf("markdown:\n%s", md)
	}
	for range 5000 {
		tb.Rows = append(tb.Rows, []string{"9", strings.Repeat("x", 100)})
	}
	if md := tb.markdown(64 << 10); len(md) > 64<<10 || !strings.Contains(md, "more rows not shown") {
		t.Fatalf("a section of %d bytes for a budget of 64 KiB", len(md))
	}
}
