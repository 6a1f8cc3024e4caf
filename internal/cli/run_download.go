package cli

import (
	"context"
	"fmt"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
)

// withDownload makes prog download the run's images into o.Download right after it shows
// the finished run (pi run --download DIR): inside the run's own path, so the in-process
// server of --sandbox still serves them. What went wrong is kept in o.downloadErr for
// runRun, so the run's own exit code is not lost to it.
func withDownload(ctx context.Context, f *Factory, o *runOptions, prog render.Progress) render.Progress {
	if o.Download == "" {
		return prog
	}
	return &downloadingProgress{Progress: prog, after: func(r *run.Run) {
		_, o.downloadErr = downloadRun(ctx, f, r, o.Download, nil, o.Quiet)
	}}
}

type downloadingProgress struct {
	render.Progress
	after func(*run.Run)
}

func (d *downloadingProgress) Finish(r *run.Run) error {
	err := d.Progress.Finish(r)
	if r != nil && r.Status.Terminal() {
		d.after(r)
	}
	return err
}

// withDownloadError is the exit of `pi run` with --download: the run's own outcome first
// (a failed run stays exit 1, its download error printed); a failed download of a
// completed run is its own error (exit 4, or 2 for a directory of another run).
func withDownloadError(f *Factory, o *runOptions, err error) error {
	derr := o.downloadErr
	if derr == nil {
		return err
	}
	if err == nil {
		return derr
	}
	if !isSilent(derr) {
		fmt.Fprintf(f.IO.ErrOut, "error: %s\n", derr)
	}
	return err
}
