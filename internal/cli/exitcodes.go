package cli

import "github.com/spf13/cobra"

// exitCodesHelp is the DESIGN.md table; the README repeats it.
const exitCodesHelp = `pi's exit code always says how things ended:

  0    run completed (or: file valid, command succeeded)
  1    run failed (some step failed)
  2    usage error or invalid pipeline file
  3    run cancelled
  4    API or network error that retries could not overcome
       (auth, not found, 5xx, unreachable)
  5    --timeout passed before the run ended; the run goes on, and the
       message says how to follow it
  130  interrupted (Ctrl-C)

pi runs get ID exits the same way for the run it shows, with or without --wait (0 also
while the run is still going, without --wait). A local run whose pi was killed exits 1;
pi run --resume ID continues it. With --local, --timeout cancels the run (exit 5); on the
Pi API the run goes on. pi runs download exits 4 when a download failed (the other files are
kept), 2 when --step matches no step and 5 when --timeout passed first; with pi run
--download the run's own code comes first (a completed run whose images were not all
downloaded by the --timeout deadline, which covers the run and its downloads, exits 5). A bad --jq expression is 2, before anything is sent; an error of the expression
while it runs is reported on stderr and leaves the code as it is.

A batch (pi run FILE --each ROWS) exits with its worst row's code, worst first: 130 (the
batch was interrupted), 2, 4, 5, 3, 1, 0 (every row completed).

In a script:

  pi run campaign.yaml -o json > run.json
  case $? in
    0) echo "done" ;;
    1) echo "a step failed: see run.json" ;;
    5) echo "still running" ;;
    *) echo "could not run" ;;
  esac`

// newExitCodesTopic is a help topic: `pi help exit-codes`.
func newExitCodesTopic() *cobra.Command {
	return &cobra.Command{
		Use:   "exit-codes",
		Short: "What pi's exit codes mean",
		Long:  exitCodesHelp,
	}
}
