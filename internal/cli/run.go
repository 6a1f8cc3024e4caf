package cli

import (
	"github.com/spf13/cobra"
)

// runOptions are the flags of `pi run` that the remote path reads; the local flags
// (--local, --resume, --concurrency, --fail-fast, --sandbox, --timeout, -p, -o) are bound by bindLocalFlags in run_local.go.
type runOptions struct {
	File    string
	Params  []string
	Detach  bool
	Sandbox bool
	Quiet   bool
	Output  string
	Timeout string
}

func newRunCmd(f *Factory) *cobra.Command {
	var o runOptions
	cmd := &cobra.Command{
		Annotations: map[string]string{signalsAnnotation: "yes"},
		Use:         "run FILE",
		Short:       "Validate a pipeline and run it",
		Long: `Validate a pipeline and run it, following it live until it ends.

By default the run goes to the Pi API (POST /api/v1/runs; the key comes from PI_API_KEY or
the config file, never a flag). With --local, pi's own engine runs it on this machine:
dependencies start as soon as they can, retries and timeouts from the file apply, local
actions (shell.run, http.request) are allowed and the run is recorded for --resume.
--sandbox sends the Pi actions to a simulated server inside pi: no account, no cost.

Output (-o): table (a live table on a terminal, lines in a pipe), plain, json (the final
run on stdout) or jsonl (one event per line, the final run last).

Exit codes: 0 completed, 1 failed, 2 invalid file or flags, 3 cancelled, 4 API error,
5 --timeout passed, 130 interrupted (see 'pi help exit-codes').`,
		Example: `  pi run campaign.yaml --sandbox
  pi run campaign.yaml -p url=https://shop.example.com --timeout 15m
  id=$(pi run campaign.yaml --detach) && pi runs get "$id" --wait -o json
  pi run pipeline.yaml --local --concurrency 4 --fail-fast
  pi run --resume 9f175af9-589b-44e8-86b9-1a434702245a`,
	}
	local := bindLocalFlags(f, cmd)
	fl := cmd.Flags()
	fl.BoolVar(&o.Detach, "detach", false, "create the run, print its id and exit")
	fl.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress on stderr, only the result")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if err := checkRunFlags(cmd); err != nil {
			return err
		}
		if handled, err := local(cmd, args); handled {
			return err
		}
		if len(args) != 1 {
			return UsageErrorf("pi run needs one pipeline FILE")
		}
		o.File = args[0]
		o.Sandbox, _ = cmd.Flags().GetBool("sandbox")
		return runRemote(cmd, f, &o)
	}
	return cmd
}

// checkRunFlags refuses flag combinations that would otherwise be silently ignored.
func checkRunFlags(cmd *cobra.Command) error {
	fl := cmd.Flags()
	local, _ := fl.GetBool("local")
	local = local || fl.Changed("resume")
	if detach, _ := fl.GetBool("detach"); detach && local {
		return UsageErrorf("--detach is for runs on the Pi API: a --local run executes in this pi process (run it in the background instead)")
	}
	for _, name := range []string{"concurrency", "fail-fast"} {
		if fl.Changed(name) && !local {
			return UsageErrorf("--%s applies to --local runs only: the Pi API schedules its own runs", name)
		}
	}
	if n, _ := fl.GetInt("concurrency"); n < 1 {
		return UsageErrorf("--concurrency %d: want 1 or more steps at once", n)
	}
	return nil
}
