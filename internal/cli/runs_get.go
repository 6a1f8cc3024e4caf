package cli

import (
	"fmt"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
)

var uuidRe = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

type runsGetOptions struct {
	ID      string
	Wait    bool
	Timeout time.Duration
	Output  string
	// LocalRun, when set, is asked first (the local store); found false falls through to the API.
	LocalRun func(id string) (*run.Run, bool, error)
}

func newRunsGetCmd(f *Factory) *cobra.Command {
	var o runsGetOptions
	cmd := &cobra.Command{
		Use:   "get ID",
		Short: "Show a run",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ID = args[0]
			o.LocalRun = localRunLookup(cmd.Context(), f)
			if !uuidRe.MatchString(o.ID) {
				return UsageErrorf("%q: expected a run id (UUID)", o.ID)
			}
			format, err := outputFormat(o.Output)
			if err != nil {
				return err
			}
			if o.LocalRun != nil {
				if r, ok, err := o.LocalRun(o.ID); err != nil {
					return err
				} else if ok {
					return render.NewProgress(f.IO, render.Options{Format: format, Quiet: true}).Finish(r)
				}
			}
			c, err := f.apiClient()
			if err != nil {
				return &ExitError{Code: 4, Err: err}
			}
			ctx := cmd.Context()
			prog := render.NewProgress(f.IO, render.Options{Format: format, Quiet: !o.Wait})
			if !o.Wait {
				r, err := c.GetRun(ctx, o.ID, false, 0)
				if err != nil {
					return fmt.Errorf("get run %s: %w", o.ID, err)
				}
				return prog.Finish(r)
			}
			var deadline time.Time
			if o.Timeout > 0 {
				deadline = time.Now().Add(o.Timeout)
			}
			return finishFollow(ctx, f, c, prog, o.ID, deadline, followRefresh(format != render.FormatJSON))
		},
	}
	fl := cmd.Flags()
	fl.BoolVar(&o.Wait, "wait", false, "follow the run until it ends")
	fl.DurationVar(&o.Timeout, "timeout", 0, "with --wait: give up after this long (exit 5)")
	fl.StringVarP(&o.Output, "output", "o", "table", "output: table, plain, json or jsonl")
	return cmd
}
