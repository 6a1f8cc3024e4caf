package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newRunCmd is a placeholder until its issue lands; only --local and --resume work yet.
func newRunCmd(f *Factory) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Validate a pipeline and run it",
	}
	local := bindLocalFlags(f, cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if handled, err := local(cmd, args); handled {
			return err
		}
		return errors.New("not implemented yet")
	}
	return cmd
}
