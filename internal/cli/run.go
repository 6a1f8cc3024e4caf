package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newRunCmd is a placeholder until its issue lands.
func newRunCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "run FILE",
		Short: "Validate a pipeline and run it",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("not implemented yet")
		},
	}
}
