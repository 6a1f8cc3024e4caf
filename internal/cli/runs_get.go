package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newRunsGetCmd is a placeholder until its issue lands.
func newRunsGetCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "get ID",
		Short: "Show a run",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("not implemented yet")
		},
	}
}
