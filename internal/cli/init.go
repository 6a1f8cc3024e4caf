package cli

import (
	_ "embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/safe"
)

// starterPipeline is what `pi init` writes: the seed brand -> ad -> localization, commented
// for someone who has never seen a pipeline file. A test keeps it valid.
//
//go:embed starter.yaml
var starterPipeline string

// starterName is the file name the starter's comments use; pi init puts the real one there.
const starterName = "pipeline.yaml"

type initOptions struct {
	IO *render.IOStreams
	// Path is the file to write, or "-" for stdout.
	Path string
}

func newInitCmd(f *Factory, runF func(*initOptions) error) *cobra.Command {
	opts := &initOptions{IO: f.IO}
	return &cobra.Command{
		Use:   "init [FILE]",
		Short: "Write a commented starter pipeline",
		Long: `Write a commented starter pipeline to FILE (default pipeline.yaml): a brand read from a
website, a hero ad for it, and the ad localized for another market. An existing file is
never overwritten. With - the pipeline goes to standard output.`,
		Example: `  pi init
  pi run pipeline.yaml --sandbox --download out/ --web
  pi init campaign.yaml
  pi init - | less`,
		Args: maxArgs(1),
		ValidArgsFunction: func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"yaml", "yml"}, cobra.ShellCompDirectiveFilterFileExt
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = starterName
			if len(args) == 1 {
				opts.Path = args[0]
			}
			if opts.Path == "" {
				return flagError{errors.New("the file name is empty: give a name such as pipeline.yaml, or - for stdout")}
			}
			if runF != nil {
				return runF(opts)
			}
			return runInit(opts)
		},
	}
}

func runInit(opts *initOptions) error {
	if opts.Path == "-" {
		_, err := opts.IO.Out.Write([]byte(starterPipeline))
		return err
	}
	text := strings.ReplaceAll(starterPipeline, starterName, shellArg(filepath.Base(opts.Path)))
	// O_EXCL: an existing file (or one created meanwhile) is never touched.
	file, err := os.OpenFile(opts.Path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if errors.Is(err, fs.ErrExist) {
		return UsageErrorf("%s already exists: pi init never overwrites a file (give another name: pi init NAME.yaml)", safe.Text(opts.Path))
	}
	if err != nil {
		return UsageErrorf("write %s: %v", safe.Text(opts.Path), errors.Unwrap(err))
	}
	if _, err := file.WriteString(text); err != nil {
		file.Close()
		return fmt.Errorf("write %s: %w", safe.Text(opts.Path), err)
	}
	if err := file.Close(); err != nil {
		return fmt.Errorf("write %s: %w", safe.Text(opts.Path), err)
	}
	arg := shellArg(opts.Path)
	fmt.Fprintf(opts.IO.ErrOut, "wrote %s: a brand, a hero ad and its French localization\n", safe.Text(opts.Path))
	fmt.Fprintf(opts.IO.ErrOut, "next:\n  pi validate %s\n  pi run %s --sandbox --download out/ --web\n", arg, arg)
	return nil
}

// shellArg is path as a shell reads it back: bare when that is safe, else single-quoted.
func shellArg(path string) string {
	if path != "" && strings.Trim(path, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._/-+,:@") == "" {
		return path
	}
	return "'" + strings.ReplaceAll(safe.Text(path), "'", `'\''`) + "'"
}
