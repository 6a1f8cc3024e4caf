package cli

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/render"
)

// versionOptions is `pi version`.
type versionOptions struct {
	IO    *render.IOStreams
	Build BuildInfo
}

func newVersionCmd(f *Factory, runF func(*versionOptions) error) *cobra.Command {
	o := &versionOptions{IO: f.IO, Build: f.Build}
	return &cobra.Command{
		Use:   "version",
		Short: "Print pi's version, commit and build date",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if runF != nil {
				return runF(o)
			}
			_, err := fmt.Fprintln(o.IO.Out, versionLine(o.Build))
			return err
		},
	}
}

// versionLine is "pi VERSION (COMMIT, DATE) GOOS/GOARCH"; a plain `go build` says "dev" and
// takes the commit from the VCS stamp when there is one.
func versionLine(b BuildInfo) string {
	v, commit, date := b.Version, b.Commit, b.Date
	if v == "" {
		v = "dev"
	}
	if commit == "" {
		if info, ok := debug.ReadBuildInfo(); ok {
			for _, s := range info.Settings {
				switch s.Key {
				case "vcs.revision":
					commit = s.Value
				case "vcs.time":
					if date == "" {
						date = s.Value
					}
				}
			}
		}
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "unknown commit"
	}
	if date == "" {
		date = "unknown date"
	}
	return fmt.Sprintf("pi %s (%s, %s) %s/%s", v, commit, date, runtime.GOOS, runtime.GOARCH)
}

// UserAgent is the User-Agent of every request pi makes.
func (b BuildInfo) UserAgent() string {
	v := b.Version
	if v == "" {
		v = "dev"
	}
	return fmt.Sprintf("pi/%s (%s/%s)", v, runtime.GOOS, runtime.GOARCH)
}
