package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newServeCmd is a placeholder until its issue lands.
func newServeCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Run the simulated Pi server on loopback",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("not implemented yet")
		},
	}
}
