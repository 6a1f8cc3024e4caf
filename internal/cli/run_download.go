package cli

import (
	"context"

	"github.com/pi-cli/pi/internal/run"
)

// downloadAfterRun is pi run --download DIR: the run's images saved into dir, as
// 'pi runs download' does, once the run has ended and been shown. finish calls it inside
// the run's own path, so the in-process server of --sandbox still serves them; what it
// returns comes after the run's own exit code (finish).
func downloadAfterRun(f *Factory) func(ctx context.Context, r *run.Run, spec downloadSpec) error {
	return func(ctx context.Context, r *run.Run, spec downloadSpec) error {
		_, err := downloadRun(ctx, f, r, spec)
		return err
	}
}
