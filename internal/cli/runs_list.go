package cli

import (
	"encoding/json"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

// newRunsListCmd lists the local runs this machine recorded, newest first.
func newRunsListCmd(f *Factory) *cobra.Command {
	var output string
	var limit int
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the local runs this machine recorded",
		Long: `List the local runs this machine recorded (pi run --local), newest first: id, file,
status, start time and duration. A run recorded in progress whose pi process is gone (killed,
crashed) shows as "interrupted" ("interrupted": true with -o json); pi run --resume ID
continues it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if output != "table" && output != "json" {
				return UsageErrorf("-o %s: want table or json", output)
			}
			st, err := openStore(cmd.Context(), f)
			if err != nil {
				return err
			}
			defer st.Close()
			runs, err := st.List(cmd.Context(), limit)
			if err != nil {
				return err
			}
			spans, err := st.StepSpans(cmd.Context())
			if err != nil {
				return err
			}
			if output == "json" {
				type row struct {
					ID        string  `json:"id"`
					File      string  `json:"file"`
					Status    string  `json:"status"`
					StartedAt string  `json:"started_at"`
					DurationS float64 `json:"duration_s"`
					// Interrupted: recorded in progress, but its pi process is gone.
					Interrupted bool `json:"interrupted,omitempty"`
				}
				rows := make([]row, 0, len(runs))
				for _, r := range runs {
					rows = append(rows, row{r.ID, r.File, string(r.Status), r.CreatedAt.UTC().Format(time.RFC3339), listRun(r, spans).duration().Seconds(), interruptedRun(r)})
				}
				b, err := json.MarshalIndent(rows, "", "  ")
				if err != nil {
					return err
				}
				fmt.Fprintf(f.IO.Out, "%s\n", b)
				return nil
			}
			if len(runs) == 0 {
				fmt.Fprintf(f.IO.ErrOut, "no local runs recorded in %s yet; start one with 'pi run FILE --local'\n", st.Path())
				return nil
			}
			tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tFILE\tSTATUS\tSTARTED\tDURATION")
			for _, r := range runs {
				status := string(r.Status)
				if interruptedRun(r) {
					status = "interrupted" // pi run --resume continues it
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.ID, r.File, status,
					r.CreatedAt.Local().Format("2006-01-02 15:04:05"), listRun(r, spans).text())
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "table", "output format: table or json")
	cmd.Flags().IntVar(&limit, "limit", 0, "show at most this many runs (0: all)")
	return cmd
}

// interruptedRun reports a run recorded in progress whose pi process is gone.
func interruptedRun(r store.Summary) bool {
	return store.Interrupted(r.Status, r.Owner)
}

// listRun is a run of the list as render measures runs: its times and the span of its
// steps, so the DURATION is the one pi run's summary and pi runs get show.
type listedRun struct{ r *run.Run }

func listRun(sm store.Summary, spans map[string]store.Span) listedRun {
	status := sm.Status
	if interruptedRun(sm) {
		status = render.RunInterrupted // ended when its pi process died, not still running
	}
	r := &run.Run{ID: sm.ID, Status: status, CreatedAt: sm.CreatedAt, UpdatedAt: sm.UpdatedAt}
	if sp, ok := spans[sm.ID]; ok {
		if status == render.RunInterrupted {
			// its steps left running end at its last record, as pi runs get shows them
			sp.Last = maxTime(sp.Last, sm.UpdatedAt)
		}
		r.Steps = []run.Step{{Status: run.StepCompleted, StartedAt: sp.First, CompletedAt: sp.Last}}
	}
	return listedRun{r}
}

func (l listedRun) duration() time.Duration {
	d, _ := render.RunDuration(l.r, time.Now())
	return d
}

func (l listedRun) text() string { return render.RunDurationText(l.r, time.Now()) }

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
