package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

// newGraphCmd is a placeholder until its issue lands.
func newGraphCmd(f *Factory) *cobra.Command {
	return &cobra.Command{
		Use:   "graph FILE",
		Short: "Draw a pipeline's DAG",
		RunE: func(cmd *cobra.Command, args []string) error {
			return errors.New("not implemented yet")
		},
	}
}
