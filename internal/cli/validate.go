package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/waves"
)

type validateOptions struct {
	IO     *render.IOStreams
	Files  []string
	Local  bool
	Params map[string]string // -p overrides
	Output string            // text | json
	// Strict makes every warning an error (--strict); without the flag, strict: true in
	// the config file does (read through Config only then).
	Strict           bool
	StrictFromConfig bool
	Config           func() (piapi.Config, []string, error)
	// Timeout is --timeout: the check of every file ends by then (exit 5); 0 none.
	Timeout time.Duration
	// Exits says the process ends with the command (Factory.Exits): a check overtaken by
	// its deadline then ends the process instead of being left to run on.
	Exits bool
}

// validateTimeout is how long pi validate checks its files by default: a valid
// 100,000-step file takes about a second, so only a file built to hang pi needs longer.
const validateTimeout = 2 * time.Minute

func newValidateCmd(f *Factory) *cobra.Command { return newValidateCmdWith(f, nil) }

// newValidateCmdWith builds `pi validate`; runF replaces the run function in tests.
func newValidateCmdWith(f *Factory, runF func(*validateOptions) error) *cobra.Command {
	opts := &validateOptions{IO: f.IO, Config: f.loadConfig, Exits: f.Exits}
	var params []string
	// pi validate keeps no signal handler: it has nothing to clean up, and Go's default
	// ends it on Ctrl-C (the shell's $? is 130, as for any process ended by SIGINT),
	// while a handler cost every pi validate two threads (about 7 % of its time).
	cmd := &cobra.Command{
		Use:   "validate FILE|DIR...",
		Short: "Check pipeline files without running anything",
		Long: `Check pipeline files without running anything: YAML form, unknown keys (the server
would drop them silently), ids, the dependency graph, actions and their inputs,
input_map references, params, retry and timeout.

Every problem of every file is reported at once, as file:line:col: message, sorted by
position, with a suggestion where one exists (on a terminal, with the source line under
it). FILE - reads standard input; a DIR stands for every *.yaml and *.yml file in it
(subdirectories included, hidden ones skipped). Warnings (an input the action does not know,
an unused param, ...) are printed but do not fail the check, unless --strict (or
strict: true in the config file) makes every warning an error, as CI may want.

Without --local the file is checked for the Runs API (Pi actions only; more than 10 steps
are sent as several server runs, see 'pi run'); with --local for pi's own engine
(shell.run and http.request allowed).

Every file is checked within --timeout (2 minutes unless given; 0: no limit), and Ctrl-C
stops the check at once (pi validate has nothing to clean up).

Exit status: 0 when every file is valid (warnings allowed), 2 otherwise, 5 when --timeout
passed first, 130 on Ctrl-C.`,
		Example: `  # check one file, as 'pi run' would before submitting it
  pi validate campaign.yaml

  # several files at once, for the local engine, with a param override
  pi validate pipelines/*.yaml --local -p url=https://example.com

  # machine-readable: a list of {file, line, column, severity, code, step, path, message}
  pi validate campaign.yaml -o json

  # in CI: warnings fail the check too
  pi validate --strict pipelines/

  # every pipeline of a directory
  pi validate pipelines/

  # from standard input
  generate-pipeline | pi validate -`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Files = args
			opts.StrictFromConfig = !cmd.Flags().Changed("strict")
			switch opts.Output {
			case "table", "text": // text: the older name
				opts.Output = "text"
			case "json":
			default:
				return UsageErrorf("-o %q: use table or json", opts.Output)
			}
			if opts.Timeout < 0 {
				return UsageErrorf("--timeout %s: want a positive duration such as 90s, or 0 for no limit", opts.Timeout)
			}
			var err error
			if opts.Params, err = parseParamFlags(params); err != nil {
				return err
			}
			if runF != nil {
				return runF(opts)
			}
			return runValidate(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Local, "local", false, "check for the local engine (no step limit, local actions allowed)")
	cmd.Flags().StringArrayVarP(&params, "param", "p", nil, "override a param: `NAME=VALUE` (repeatable)")
	cmd.Flags().StringVarP(&opts.Output, "output", "o", "table", "output format: table (one line per problem) or json")
	cmd.Flags().BoolVar(&opts.Strict, "strict", false, "every warning is an error (default: strict in the config file)")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", validateTimeout, "give up after this long (exit 5); 0: no limit")
	return cmd
}

func runValidate(ctx context.Context, opts *validateOptions) error {
	if opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Timeout)
		defer cancel()
	}
	mode := pipeline.Remote
	if opts.Local {
		mode = pipeline.Local
	}
	all := pipeline.Diagnostics{}
	failed := false
	// -o json writes only the JSON at the end; otherwise each file's problems (annotations
	// under GitHub Actions) and its verdict go to stderr as the file is checked.
	text := opts.Output != "json"
	show := func(ds pipeline.Diagnostics, src []byte) {
		if text {
			_ = render.WriteDiagnostics(opts.IO, ds, src)
		}
	}
	// Source lines under each diagnostic help people at a terminal; logs and tools get
	// exactly one line per diagnostic.
	snippets := opts.IO.IsStderrTTY() && opts.Output == "text"
	files, skipped, err := expandPipelineArgs(opts.Files)
	if err != nil {
		return err
	}
	all = append(all, skipped...)
	show(skipped, nil)
	strict := opts.strict()
	for _, path := range files {
		p, ds, src, err := opts.checkFileWithin(ctx, path, mode)
		path = displayPath(path)
		if ctx.Err() != nil && err == ctx.Err() {
			return validateStopped(ctx, opts.Timeout, path)
		}
		if err != nil {
			ds = pipeline.Diagnostics{{File: path, Severity: pipeline.Error, Message: readProblem(err)}}
		}
		if mode == pipeline.Remote && p != nil && len(p.Steps) > pipeline.MaxRemoteSteps {
			// pi run sends it in waves: steps that must share one are checked here too
			if _, err := waves.CutPipeline(p); err != nil {
				ds = append(ds, pipeline.Diagnostic{File: path, Severity: pipeline.Error, Code: pipeline.CodeUncuttable, Message: uncuttable(p, err)})
				p = nil
			}
		}
		if strict {
			ds.Strict()
		}
		all = append(all, ds...)
		if !snippets {
			src = nil
		}
		show(ds.Capped(), src)
		errs, warns := count(ds)
		failed = failed || errs > 0
		if text {
			writeVerdict(opts.IO, path, p, errs, warns)
		}
	}
	if !text {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			return fmt.Errorf("write diagnostics: %w", err)
		}
	}
	if failed {
		return SilentExit(ExitUsage)
	}
	return nil
}

// writeVerdict says on stderr whether a file is valid: "x.yaml: invalid (2 errors)".
func writeVerdict(ios *render.IOStreams, path string, p *pipeline.Pipeline, errs, warns int) {
	switch {
	case errs > 0:
		fmt.Fprintf(ios.ErrOut, "%s: invalid (%s%s)\n", path, plural(errs, "error"), warnSuffix(warns))
	case p != nil:
		fmt.Fprintf(ios.ErrOut, "%s: valid (%s%s)\n", path, stepsText(p), warnSuffix(warns))
	}
}

// strict is --strict, or without it strict: true in the config file. A config file pi
// cannot read is said once and leaves the check as it is.
func (opts *validateOptions) strict() bool {
	if !opts.StrictFromConfig || opts.Config == nil {
		return opts.Strict
	}
	cfg, _, err := opts.Config()
	if err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "warning: %v (strict not read from it)\n", err)
		return false
	}
	return cfg.Strict
}

// checkFile loads one file ("-" is standard input) as pipeline.Load does: the pipeline is
// nil when it has errors.
func checkFile(ios *render.IOStreams, path string, mode pipeline.Mode, params map[string]string) (*pipeline.Pipeline, pipeline.Diagnostics, []byte, error) {
	p, src, ds, err := pipeline.Load(path, pipeline.Options{Mode: mode, Params: params, Stdin: ios.In})
	return p, ds, src.Data, err
}

// checkFileWithin is checkFile until ctx ends. Checking a file is pure computation that
// cannot be interrupted. In pi's own process it runs on this goroutine, and if ctx ends
// first a watcher ends the process as the command would have (exit 5 or 130): a goroutine
// of its own cost every pi validate about a tenth of its time (an idle thread woken to
// run it). Where the process goes on (tests), it runs on a goroutine left to finish.
func (opts *validateOptions) checkFileWithin(ctx context.Context, path string, mode pipeline.Mode) (*pipeline.Pipeline, pipeline.Diagnostics, []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, nil, err
	}
	if opts.Exits {
		stop := context.AfterFunc(ctx, func() {
			err := validateStopped(ctx, opts.Timeout, displayPath(path))
			if !isSilent(err) {
				printError(opts.IO.ErrOut, err)
			}
			os.Exit(exitCode(err))
		})
		defer stop()
		return checkFile(opts.IO, path, mode, opts.Params)
	}
	type checked struct {
		p   *pipeline.Pipeline
		ds  pipeline.Diagnostics
		src []byte
		err error
	}
	done := make(chan checked, 1)
	go func() {
		p, ds, src, err := checkFile(opts.IO, path, mode, opts.Params)
		done <- checked{p, ds, src, err}
	}()
	select {
	case c := <-done:
		return c.p, c.ds, c.src, c.err
	case <-ctx.Done():
		return nil, nil, nil, ctx.Err()
	}
}

// displayPath is the name a file is shown by ("-" is standard input).
func displayPath(path string) string {
	if path == "-" {
		return pipeline.StdinName
	}
	return path
}

// validateStopped is how pi validate ends when ctx ended while path was checked.
func validateStopped(ctx context.Context, timeout time.Duration, path string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return &ExitError{Code: ExitTimeout, Err: fmt.Errorf("%s: not checked within --timeout %s, so pi gave up (no file needs that long: a valid 100,000-step file takes about a second; --timeout 0 waits without limit)", path, timeout)}
	}
	return SilentExit(ExitInterrupted)
}

// readProblem says why a file could not be read, and what to do.
func readProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file: check the path"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied: pi cannot read this file"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return "cannot read the file: " + pe.Err.Error()
	}
	return "cannot read the file: " + err.Error()
}

func count(ds pipeline.Diagnostics) (errs, warns int) {
	for _, d := range ds {
		if d.Severity == pipeline.Error {
			errs++
		} else {
			warns++
		}
	}
	return errs, warns
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

func warnSuffix(n int) string {
	if n == 0 {
		return ""
	}
	return ", " + plural(n, "warning")
}

// printDiagnosticsWithSource writes diagnostics to stderr; at a terminal in colour, each
// followed by its source line (src), as pi validate shows them; under GitHub Actions as
// annotations.
func printDiagnosticsWithSource(ios *render.IOStreams, ds pipeline.Diagnostics, src []byte) {
	_ = render.WriteDiagnostics(ios, ds.Capped(), src)
}

// printDiagnostics writes diagnostics to stderr, one per line (graph uses it too).
func printDiagnostics(io *render.IOStreams, ds pipeline.Diagnostics) {
	_ = render.WriteDiagnostics(io, ds.Capped(), nil)
}

// expandPipelineArgs replaces each directory among args by the pipeline files inside it
// (every *.yaml and *.yml, in subdirectories too, hidden ones skipped), sorted. A file
// found there that is not a regular one (a named pipe, a device, a link to one) is not
// read, and a warning says it was skipped: opening a named pipe waits for a writer.
func expandPipelineArgs(args []string) (files []string, skipped pipeline.Diagnostics, err error) {
	for _, a := range args {
		fi, err := os.Stat(a)
		if a == "-" || err != nil || !fi.IsDir() {
			files = append(files, a) // checkFile reports what is wrong with it
			continue
		}
		found, skip, err := pipelineFilesIn(a)
		if err != nil {
			return nil, nil, UsageErrorf("%s: %s", a, readProblem(err))
		}
		skipped = append(skipped, skip...)
		if len(found) == 0 && len(skip) == 0 {
			return nil, nil, UsageErrorf("%s: no *.yaml or *.yml file in this directory", a)
		}
		files = append(files, found...)
	}
	return files, skipped, nil
}

// pipelineFilesIn lists the regular *.yaml and *.yml files under dir, sorted, and a
// warning for each other one.
func pipelineFilesIn(dir string) (found []string, skipped pipeline.Diagnostics, err error) {
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != dir && strings.HasPrefix(name, ".") {
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(name); (ext != ".yaml" && ext != ".yml") || strings.HasPrefix(name, ".") {
			return nil
		}
		mode := d.Type()
		if mode&fs.ModeSymlink != 0 {
			st, err := os.Stat(path)
			if err != nil {
				skipped = append(skipped, pipeline.Diagnostic{File: path, Severity: pipeline.Warning, Message: readProblem(err) + ": skipped"})
				return nil
			}
			mode = st.Mode()
		}
		if !mode.IsRegular() {
			skipped = append(skipped, pipeline.Diagnostic{File: path, Severity: pipeline.Warning,
				Message: "not a regular file (" + fileKind(mode) + "): skipped"})
			return nil
		}
		found = append(found, path)
		return nil
	})
	sort.Strings(found)
	return found, skipped, err
}

// fileKind names what a file that is not a regular one is.
func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}
