package cli

import (
	"context"
	"path/filepath"

	"github.com/pi-cli/pi/internal/run"
)

// openRunReport is pi run --web: once the run ended (and its images were downloaded, with
// --download), its report is written, beside the images when there are any (DIR/report.html,
// embedding them), and opened in the browser. A sandbox's ads are drawn again from their
// jobs, so they show even without --download. The page's path goes to stderr: stdout is the
// run's.
func openRunReport(f *Factory) func(ctx context.Context, r *run.Run, o *runOptions) error {
	return func(ctx context.Context, r *run.Run, o *runOptions) error {
		ro := &runsReportOptions{
			ID: r.ID, Dir: o.Download, Web: true, Browser: f.browser,
			LocalRun: localRunLookup(ctx, f),
			GetRun:   func(context.Context, string) (*run.Run, error) { return r, nil },
		}
		if o.Download != "" {
			ro.Out = filepath.Join(o.Download, "report.html")
		}
		if !o.Local && o.File != "-" {
			// a remote run's inputs are not in the run: the file gives them
			ro.Pipeline, ro.Params = o.File, o.Params
		}
		return runsReport(ctx, f, ro)
	}
}
