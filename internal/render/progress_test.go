package render

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/run"
)

var update = flag.Bool("update", false, "rewrite golden files")

var fixedNow = time.Date(2026, 11, 28, 13, 0, 1, 0, time.UTC)

// fixedClock reads fixedNow until a test moves it: the live table's ticker never fires on its own.
func fixedClock() *clock.Fake { return clock.NewFake(fixedNow) }

// fixture decodes a runs-get response's data field.
func fixture(t testing.TB, name string) *run.Run {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		Data run.Run `json:"data"`
	}
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatalf("decode %s: %v", name, err)
	}
	return &env.Data
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/render -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

type streams struct {
	ios         *IOStreams
	out, errOut *bytes.Buffer
}

func newStreams(tty, color bool, env map[string]string) streams {
	ios, _, out, errOut := Test()
	ios.SetTTY(tty)
	ios.SetColorEnabled(color)
	ios.SetWidth(100)
	ios.SetGetenv(func(k string) string { return env[k] })
	return streams{ios, out, errOut}
}

// play feeds a run through a Progress the way a remote command does: Start with the first
// snapshot, the Diff events, Finish with the last.
func play(p Progress, r *run.Run) error {
	start := r.Clone()
	start.Status = run.Pending
	for i := range start.Steps {
		start.Steps[i] = run.Step{ID: r.Steps[i].ID, Action: r.Steps[i].Action, Status: run.StepPending, DependsOn: r.Steps[i].DependsOn}
	}
	p.Start(start)
	for _, e := range run.Diff(start, r, fixedNow) {
		p.Event(e, r)
	}
	return p.Finish(r)
}

var fixtures = []string{"completed", "failed", "in-progress"}

func TestGolden(t *testing.T) {
	modes := []struct {
		name       string
		tty, color bool
		format     Format
	}{
		{"plain", false, false, FormatTable},
		{"tty", true, true, FormatTable},
	}
	for _, fx := range fixtures {
		for _, m := range modes {
			t.Run(fx+"/"+m.name, func(t *testing.T) {
				s := newStreams(m.tty, m.color, nil)
				p := NewProgress(s.ios, Options{Format: m.format, Clock: fixedClock(), Tick: time.Hour})
				if err := play(p, fixture(t, "runs-get-"+fx+".json")); err != nil {
					t.Fatal(err)
				}
				golden(t, fx+"-"+m.name+".stdout", s.out.Bytes())
				// tty: the live frames, drawn and erased with cursor moves
				golden(t, fx+"-"+m.name+".stderr", s.errOut.Bytes())
			})
		}
	}
}

func TestNoANSIWhenNotTTY(t *testing.T) {
	for _, f := range []Format{FormatTable, FormatPlain, FormatJSON, FormatJSONL} {
		for _, fx := range fixtures {
			s := newStreams(false, false, map[string]string{"GITHUB_ACTIONS": "true"})
			p := NewProgress(s.ios, Options{Format: f, Clock: fixedClock()})
			p.Warn("slow server")
			if err := play(p, fixture(t, "runs-get-"+fx+".json")); err != nil {
				t.Fatal(err)
			}
			if all := s.out.String() + s.errOut.String(); strings.Contains(all, "\x1b") {
				t.Errorf("%s/%s: ANSI escape in non-TTY output:\n%q", f, fx, all)
			}
		}
	}
}

func TestPlainOnTerminal(t *testing.T) {
	for _, force := range []string{"", "1"} {
		s := newStreams(true, true, map[string]string{"CLICOLOR_FORCE": force})
		if err := play(NewProgress(s.ios, Options{Format: FormatPlain, Clock: fixedClock()}), fixture(t, "runs-get-failed.json")); err != nil {
			t.Fatal(err)
		}
		got := strings.Contains(s.out.String()+s.errOut.String(), "\x1b")
		if got != (force == "1") {
			t.Errorf("CLICOLOR_FORCE=%q: ANSI in plain output = %v", force, got)
		}
		if !strings.Contains(s.errOut.String(), "  a  failed") {
			t.Errorf("plain on a terminal wrote no event lines:\n%s", s.errOut)
		}
	}
}

func TestJSON(t *testing.T) {
	r := fixture(t, "runs-get-failed.json")
	s := newStreams(false, false, nil)
	if err := play(NewProgress(s.ios, Options{Format: FormatJSON, Clock: fixedClock()}), r); err != nil {
		t.Fatal(err)
	}
	var got run.Run
	if err := json.Unmarshal(s.out.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not one JSON run: %v\n%s", err, s.out)
	}
	if got.ID != r.ID || got.Status != run.Failed || len(got.Steps) != 4 || got.Steps[0].Error == "" {
		t.Errorf("decoded run = %+v", got)
	}
	if !strings.Contains(s.out.String(), "\n  \"id\"") {
		t.Errorf("json output not pretty-printed:\n%s", s.out)
	}
	if !strings.Contains(s.errOut.String(), "  a  failed") {
		t.Errorf("progress lines missing on stderr:\n%s", s.errOut)
	}
	s = newStreams(false, false, nil)
	if err := play(NewProgress(s.ios, Options{Format: FormatJSON, Quiet: true, Clock: fixedClock()}), r); err != nil {
		t.Fatal(err)
	}
	if s.errOut.Len() != 0 {
		t.Errorf("quiet json wrote to stderr: %q", s.errOut)
	}
}

func TestJSONL(t *testing.T) {
	r := fixture(t, "runs-get-failed.json")
	s := newStreams(false, false, nil)
	if err := play(NewProgress(s.ios, Options{Format: FormatJSONL, Clock: fixedClock()}), r); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(s.out.String(), "\n"), "\n")
	// start, 3 step transitions (b stays pending), run failed, final run
	if len(lines) != 6 {
		t.Fatalf("got %d lines, want 6:\n%s", len(lines), s.out)
	}
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("line %d is not JSON: %v: %s", i+1, err, l)
		}
		if i == 0 && m["run_id"] != r.ID {
			t.Errorf("first line lacks the run id: %s", l)
		}
		if i == len(lines)-1 && (m["id"] != r.ID || m["steps"] == nil) {
			t.Errorf("last line is not the final run: %s", l)
		}
	}
	if s.errOut.Len() != 0 {
		t.Errorf("jsonl wrote to stderr: %q", s.errOut)
	}
}

func TestGitHubActions(t *testing.T) {
	s := newStreams(false, false, map[string]string{"GITHUB_ACTIONS": "true"})
	if err := play(NewProgress(s.ios, Options{Format: FormatPlain, Clock: fixedClock()}), fixture(t, "runs-get-failed.json")); err != nil {
		t.Fatal(err)
	}
	e := s.errOut.String()
	for _, want := range []string{
		"::group::pi run 9f175af9-589b-44e8-86b9-1a434702245a\n",
		"::endgroup::\n",
		"::error title=step a (brands.extract) failed::upstream_timeout: simulated failure\n",
	} {
		if !strings.Contains(e, want) {
			t.Errorf("stderr lacks %q:\n%s", want, e)
		}
	}
	if strings.Count(e, "::error") != 1 {
		t.Errorf("want one ::error line:\n%s", e)
	}
	if strings.Index(e, "::endgroup::") > strings.Index(e, "::error") {
		t.Errorf("::error inside the group:\n%s", e)
	}
}

func TestWidthTruncation(t *testing.T) {
	r := fixture(t, "runs-get-failed.json")
	r.Steps[0].Error = strings.Repeat("a very long error message ", 20)
	for _, w := range []int{100, 60, 30} {
		for _, tty := range []bool{false, true} {
			s := newStreams(tty, tty, nil)
			s.ios.SetWidth(w)
			p := NewProgress(s.ios, Options{Clock: fixedClock(), Tick: time.Hour})
			p.Start(r)
			p.Event(run.Event{RunID: r.ID, StepID: "a", Status: "processing"}, r)
			p.Stop()
			lines := strings.Split(s.errOut.String(), "\n")
			if !tty {
				continue
			}
			for _, l := range lines {
				if n := visibleWidth(l); n >= w {
					t.Errorf("width %d: live line is %d wide: %q", w, n, l)
				}
			}
		}
		// stdout a terminal: the final table is cut to it (stdout not a terminal: never,
		// TestStdoutNotTerminalNeverCut)
		s := newStreams(false, false, nil)
		s.ios.SetWidth(w)
		s.ios.stdoutTTY = true
		if err := play(NewProgress(s.ios, Options{Clock: fixedClock()}), r); err != nil {
			t.Fatal(err)
		}
		tableLines := strings.SplitN(s.out.String(), "\n\n", 2)[0]
		for _, l := range strings.Split(tableLines, "\n") {
			if n := visibleWidth(l); n > w {
				t.Errorf("width %d: table line is %d wide: %q", w, n, l)
			}
		}
		if !strings.Contains(s.out.String(), r.Steps[0].Error[:100]) {
			t.Errorf("width %d: summary lost the full error", w)
		}
	}
}

func TestConcurrentEvents(t *testing.T) {
	r := fixture(t, "runs-get-completed.json")
	s := newStreams(true, true, nil)
	p := NewProgress(s.ios, Options{Clock: fixedClock(), Tick: time.Millisecond})
	p.Start(r)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 20; j++ {
				p.Event(run.Event{RunID: r.ID, StepID: r.Steps[0].ID, Status: "processing"}, r.Clone())
				p.Warn("w")
			}
		}()
	}
	wg.Wait()
	if err := p.Finish(r); err != nil {
		t.Fatal(err)
	}
	p.Stop()
}

func TestEventLine(t *testing.T) {
	for _, tc := range []struct {
		e        run.Event
		attempts bool
		want     string
	}{
		{run.Event{Time: fixedNow, StepID: "generate_hero", Status: "processing", Attempt: 1}, false, "2026-11-28T13:00:01Z  generate_hero  processing"},
		{run.Event{Time: fixedNow, StepID: "generate_hero", Status: "processing", Attempt: 1}, true, "2026-11-28T13:00:01Z  generate_hero  processing  attempt 1"},
		{run.Event{StepID: "x", Status: "failed", Attempt: 2, Error: "shell.run: boom\nmore", RetryIn: 1500 * time.Millisecond}, false, "2026-11-28T13:00:01Z  x  retry 3 in 1.5s: boom …"},
		{run.Event{Time: fixedNow.Add(time.Hour), RunID: "f027", Status: "completed"}, false, "2026-11-28T14:00:01Z  run f027  completed"},
		{run.Event{Time: fixedNow, StepID: "run", Status: "failed", Attempt: 1, Error: "x\x1b[2Jy"}, false, "2026-11-28T13:00:01Z  run  failed  attempt 1  error: x\\x1b[2Jy"},
	} {
		if got := eventLine(tc.e, fixedNow, tc.attempts, false, 0); got != tc.want {
			t.Errorf("eventLine(%+v) =\n%q, want\n%q", tc.e, got, tc.want)
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Format
		err  bool
	}{{"", FormatTable, false}, {"json", FormatJSON, false}, {"JSONL", FormatJSONL, false}, {"plain", FormatPlain, false}, {"yaml", "", true}} {
		got, err := ParseFormat(tc.in)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseFormat(%q) = %q, %v", tc.in, got, err)
		}
	}
}

// BenchmarkEventToFinish measures the time from a terminal event to the final table on
// screen in the live TTY mode: one redraw plus the final render.
func BenchmarkEventToFinish(b *testing.B) {
	r := fixture(b, "runs-get-completed.json")
	for b.Loop() {
		ios, _, _, _ := Test()
		ios.SetTTY(true)
		ios.SetColorEnabled(true)
		ios.SetWidth(100)
		p := NewProgress(ios, Options{Clock: fixedClock(), Tick: time.Hour})
		p.Start(r)
		p.Event(run.Event{RunID: r.ID, Status: "completed"}, r)
		if err := p.Finish(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRedraw measures one redraw of the live table.
func BenchmarkRedraw(b *testing.B) {
	r := fixture(b, "runs-get-in-progress.json")
	ios, _, _, errOut := Test()
	ios.SetTTY(true)
	ios.SetColorEnabled(true)
	ios.SetWidth(100)
	p := NewProgress(ios, Options{Clock: fixedClock(), Tick: time.Hour})
	p.Start(r)
	defer p.Stop()
	for b.Loop() {
		errOut.Reset()
		p.Event(run.Event{RunID: r.ID, StepID: r.Steps[0].ID, Status: "processing"}, r)
	}
}
