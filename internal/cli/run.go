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
		Use:   "run FILE",
		Short: "Validate a pipeline and run it",
		Long: "Validate a pipeline and run it on the Pi API (or here with --local), following it\n" +
			"until it ends. Exit codes: 0 completed, 1 failed, 2 invalid, 3 cancelled, 4 API error,\n" +
			"5 --timeout, 130 interrupted.",
	}
	local := bindLocalFlags(f, cmd)
	fl := cmd.Flags()
	fl.BoolVar(&o.Detach, "detach", false, "create the run, print its id and exit")
	fl.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress on stderr, only the result")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
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
