package render

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/run"
)

// GitHub drops a step's summary file over 1 MiB whole, so the section pi appends keeps the
// file under it: errors are clipped to fit (saying so), and so is a huge table; what the
// file held before counts.
func TestSummaryCappedToGitHubLimit(t *testing.T) {
	t0 := time.Date(2026, 11, 28, 13, 0, 0, 0, time.UTC)
	noisy := &run.Run{ID: "9f175af9-589b-44e8-86b9-1a434702245a", Status: run.Failed, CreatedAt: t0, UpdatedAt: t0.Add(time.Minute)}
	for i := range 5 {
		noisy.Steps = append(noisy.Steps, run.Step{ID: fmt.Sprintf("noisy-%d", i), Action: "shell.run", Status: run.StepFailed,
			StartedAt: t0, CompletedAt: t0.Add(time.Second), Error: fmt.Sprintf("shell.run: exited with status 1: <%d>\n", i) + strings.Repeat("x&<y\n", 900<<10/5)})
	}
	wide := &run.Run{ID: "9f175af9-589b-44e8-86b9-1a434702245a", Status: run.Failed, CreatedAt: t0, UpdatedAt: t0.Add(time.Minute)}
	for i := range 20000 {
		st := run.Step{ID: fmt.Sprintf("localize-%06d", i), Action: "campaigns.localize_ad", Status: run.StepCompleted, StartedAt: t0, CompletedAt: t0.Add(time.Second),
			Result: map[string]any{"image_url": fmt.Sprintf("https://img.test/%06d.png", i)}}
		if i%1000 == 999 {
			st.Status, st.Error, st.Result = run.StepFailed, "model timeout", nil
		}
		wide.Steps = append(wide.Steps, st)
	}
	for _, tt := range []struct {
		name   string
		before int
		r      *run.Run
		want   []string
	}{
		{"noisy errors", 0, noisy, []string{"**noisy-0**", "**noisy-4**", "&lt;4&gt;", "clipped"}},
		{"noisy errors after 300 KB", 300 << 10, noisy, []string{"**noisy-0**", "**noisy-4**", "clipped"}},
		{"20,000 steps", 0, wide, []string{"| localize-000000 |", "more steps not shown", "#### Errors", "**localize-000999**"}},
		{"file already full", 1 << 20, noisy, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "summary.md")
			if err := os.WriteFile(path, []byte(strings.Repeat("e", tt.before)), 0o644); err != nil {
				t.Fatal(err)
			}
			s := newStreams(false, false, map[string]string{"GITHUB_STEP_SUMMARY": path})
			// The summary decorator alone: what the inner progress prints is not the point.
			p := jobSummary(s.ios, Options{Clock: fixedClock(), JobSummary: true}, silentProgress{}, false)
			if err := p.Finish(tt.r); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) > MaxSummary && len(b) > tt.before {
				t.Fatalf("summary file is %d bytes, over GitHub's %d", len(b), MaxSummary)
			}
			md := string(b[tt.before:])
			for _, w := range tt.want {
				if !strings.Contains(md, w) {
					t.Errorf("summary lacks %q", w)
				}
			}
			if strings.Count(md, "<pre>") != strings.Count(md, "</pre>") {
				t.Error("a <pre> was cut open")
			}
			if tt.want == nil && !strings.Contains(s.errOut.String(), "summary") {
				t.Errorf("no warning that the summary could not be written: %q", s.errOut.String())
			}
		})
	}
}

// silentProgress prints nothing.
type silentProgress struct{}

func (silentProgress) Start(*run.Run)            {}
func (silentProgress) Event(run.Event, *run.Run) {}
func (silentProgress) Warn(string)               {}
func (silentProgress) Stop()                     {}
func (silentProgress) Finish(*run.Run) error     { return nil }

// Sections appended at once (the rows of a batch, two pi in one job) each measure the room
// left under the file's lock, so together they never pass GitHub's limit: without it,
// several measured the same room and all wrote into it.
func TestSummarySectionsAtOnceStayUnderTheLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "summary.md")
	if err := os.WriteFile(path, []byte(strings.Repeat("h", MaxSummary-4*minSummarySection)), 0o644); err != nil {
		t.Fatal(err)
	}
	const writers = 8
	errs := make(chan error, writers)
	start := make(chan struct{})
	for range writers {
		go func() {
			<-start
			errs <- appendSection(path, func(room int) string { return strings.Repeat("s", min(room, 3*minSummarySection)) })
		}()
	}
	close(start)
	refused := 0
	for range writers {
		if err := <-errs; err != nil {
			refused++
		}
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() > MaxSummary || refused == 0 {
		t.Errorf("the file holds %d bytes (limit %d), %d of %d sections refused", st.Size(), MaxSummary, refused, writers)
	}
}
