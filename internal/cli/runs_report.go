package cli

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/download"
	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/report"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/safe"
	"github.com/pi-cli/pi/internal/sandbox"
	"github.com/pi-cli/pi/internal/store"
)

type runsReportOptions struct {
	ID       string
	Dir      string            // -D: a download directory whose images are embedded
	Out      string            // --out FILE; "" is stdout
	Pipeline string            // --pipeline FILE: the inputs of a remote run
	Params   map[string]string // -p, with --pipeline
	// Web is --web: write the page to Out (else reportPath) and open it in the browser.
	Web bool
	// PathOut gets the page's path with --web ("" none): stdout for pi runs report, none
	// for pi run --web, whose stdout is the run's.
	PathOut bool

	LocalRun func(id string) (*store.Record, bool, error)
	GetRun   func(ctx context.Context, id string) (*run.Run, error)
	Browser  func() Browser
}

func newRunsReportCmd(f *Factory, runF func(*runsReportOptions) error) *cobra.Command {
	o := &runsReportOptions{}
	var params []string
	cmd := &cobra.Command{
		Annotations: map[string]string{signalsAnnotation: "yes"},
		Use:         "report ID",
		Short:       "Write a run as one self-contained HTML page",
		Long: `Write a run (a local run of this machine, else the run on the Pi API) as one HTML page:
the graph of its steps, and every step with its status, times, inputs, results, errors and
image. The page loads no script, font or style sheet from anywhere; with -D DIR (a
directory of 'pi runs download' or 'pi run --download') the images are embedded in it, so
it reads offline, in a mail or an archive; otherwise they are linked. The ads of a sandbox
run are drawn again from its jobs and embedded.

--web writes the page (to --out, else to pi's cache directory) and opens it in the
browser: $BROWSER, else the system's opener (xdg-open, open); without one, pi says where
the page is. The page's path is printed on stdout.

A local run's inputs come from its record; the Pi API does not return a run's inputs, so
for a remote run give the pipeline file with --pipeline (and its -p params).`,
		Example: `  pi runs report 9f175af9-589b-44e8-86b9-1a434702245a > report.html
  pi runs download 9f175af9-589b-44e8-86b9-1a434702245a -D imgs
  pi runs report 9f175af9-589b-44e8-86b9-1a434702245a -D imgs --out report.html
  pi runs report 9f175af9-589b-44e8-86b9-1a434702245a --web
  pi runs report 9f175af9-589b-44e8-86b9-1a434702245a --pipeline campaign.yaml -p url=https://shop.example.com`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ID = args[0]
			if err := checkRunRef(o.ID); err != nil {
				return err
			}
			var err error
			if o.Params, err = parseParamFlags(params); err != nil {
				return err
			}
			if len(o.Params) > 0 && o.Pipeline == "" {
				return UsageErrorf("-p sets params of the --pipeline file; give --pipeline too")
			}
			recorded := newRecordedRuns(cmd.Context(), f)
			defer recorded.close() // a sandbox run's images are served until the command ends
			o.LocalRun = func(id string) (*store.Record, bool, error) {
				rec, ok, err := recorded.lookup(id)
				if ok && recorded.note != "" {
					fmt.Fprintln(f.IO.ErrOut, "note: "+recorded.note)
				}
				return rec, ok, err
			}
			o.GetRun = remoteRunGetter(f)
			o.Browser = f.browser
			o.PathOut = true
			if runF != nil {
				return runF(o)
			}
			return runsReport(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Dir, "dir", "D", "", "embed the images downloaded into this directory (pi runs download -D)")
	fl.StringVar(&o.Out, "out", "", "write the page to this file instead of stdout")
	fl.BoolVar(&o.Web, "web", false, "open the page in the browser (written to --out, else to pi's cache directory)")
	fl.StringVar(&o.Pipeline, "pipeline", "", "the run's pipeline file, for the inputs of a remote run")
	fl.StringArrayVarP(&params, "param", "p", nil, "a param of the --pipeline file: -p name=value (repeatable)")
	return cmd
}

func runsReport(ctx context.Context, f *Factory, o *runsReportOptions) error {
	r, file, inputs, err := reportSources(ctx, f, o)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	warns, err := report.Write(&buf, r, report.Options{Inputs: inputs, Dir: o.Dir, File: file,
		Draw: sandboxDraw(r, inputs), Generator: "pi " + f.Build.Version})
	if err != nil {
		return UsageErrorf("%v", err)
	}
	for _, w := range warns {
		fmt.Fprintln(f.IO.ErrOut, "warning: "+safe.Text(w))
	}
	if !o.Web {
		if o.Out == "" {
			_, err := f.IO.Out.Write(buf.Bytes())
			return err
		}
		return writeFileAtomic(o.Out, buf.Bytes())
	}
	path := o.Out
	if path == "" {
		if path, err = reportPath(f.Getenv, r.ID); err != nil {
			return err
		}
	}
	if err := writeFileAtomic(path, buf.Bytes()); err != nil {
		return err
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if o.PathOut {
		fmt.Fprintln(f.IO.Out, safe.Text(path))
	}
	openPage(f.IO, o.Browser, path)
	return nil
}

// reportSources are the run of a report, the name of its pipeline file ("" unknown) and its
// steps' inputs: a local record's, else the API's run with the --pipeline file's.
func reportSources(ctx context.Context, f *Factory, o *runsReportOptions) (*run.Run, string, map[string]report.Input, error) {
	var (
		r      *run.Run
		file   string
		inputs map[string]report.Input
	)
	if o.LocalRun != nil {
		rec, ok, err := o.LocalRun(o.ID)
		if err != nil {
			return nil, "", nil, err
		}
		if ok {
			r, file = rec.Run, rec.File
			inputs = pipelineInputs(rec.File, rec.Pipeline, rec.Params)
		}
	}
	if r == nil {
		var err error
		if r, err = o.GetRun(ctx, o.ID); err != nil {
			return nil, "", nil, err
		}
	}
	if o.Pipeline != "" {
		name, data, err := readPipelineFile(f.IO, o.Pipeline)
		if err != nil {
			return nil, "", nil, UsageErrorf("--pipeline: %v", err)
		}
		if inputs = pipelineInputs(name, data, o.Params); inputs == nil {
			return nil, "", nil, UsageErrorf("--pipeline %s: not a pipeline pi can read (pi validate %s says why)", name, name)
		}
		file = name
	}
	return r, file, inputs, nil
}

// reportPath is where --web writes a run's page without --out: pi's cache directory
// ($XDG_CACHE_HOME/pi/reports, else the system's), one file per run.
func reportPath(getenv func(string) string, id string) (string, error) {
	dir := getenv("XDG_CACHE_HOME")
	if dir == "" {
		var err error
		if dir, err = os.UserCacheDir(); err != nil {
			return "", fmt.Errorf("no directory for the report (%v): give --out FILE", err)
		}
	}
	dir = filepath.Join(dir, "pi", "reports")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("create %s: %w", dir, err)
	}
	return filepath.Join(dir, id+".html"), nil
}

// sandboxDraw draws again the ads of a run's steps that a sandbox served on loopback (pi
// run --sandbox, pi serve), from each step's job and resolved input, so the report shows
// them after the sandbox is gone. A step whose input is not known is not drawn: its
// picture would not be the one the sandbox served.
func sandboxDraw(r *run.Run, inputs map[string]report.Input) func(*run.Step) ([]byte, bool) {
	return func(s *run.Step) ([]byte, bool) {
		job, ok := sandbox.AdImageJob(download.ImageURL(s))
		a, known := catalog.Lookup(s.Action)
		in, given := inputs[s.ID]
		if !ok || !strings.EqualFold(job, s.JobID) || !known || a.JobType == "" || !given {
			return nil, false
		}
		b, err := sandbox.DrawAd(s.JobID, a.JobType, resolvedInput(r, in))
		return b, err == nil
	}
}

// resolvedInput is a step's input with its input_map applied to the run's results, as the
// server resolved it when it created the step's job.
func resolvedInput(r *run.Run, in report.Input) map[string]any {
	out := make(map[string]any, len(in.Values)+len(in.Map))
	maps.Copy(out, in.Values)
	for key, expr := range in.Map {
		ref, ok := pipeline.ParseRef(expr)
		src := r.Step(ref.Step)
		if !ok || src == nil {
			continue
		}
		var v any = src.Result
		for _, k := range ref.Path {
			m, _ := v.(map[string]any)
			v = m[k]
		}
		if v != nil {
			out[key] = v
		}
	}
	return out
}

// pipelineInputs are the steps' inputs of a pipeline file, as they ran: matrices expanded,
// params substituted. nil when the file cannot be read as a pipeline.
func pipelineInputs(name string, data []byte, params map[string]string) map[string]report.Input {
	if data == nil {
		data = []byte{}
	}
	p, _, _, _ := pipeline.Load(name, pipeline.Options{Mode: pipeline.Local, Params: params, Data: data})
	if p == nil {
		return nil
	}
	out := map[string]report.Input{}
	for _, s := range p.Steps {
		out[s.ID] = report.Input{Values: s.Input, Map: s.InputMap}
	}
	return out
}

// writeFileAtomic writes data to name through a temporary file beside it, so a reader never
// sees half a page.
func writeFileAtomic(name string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*.part")
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	_, werr := tmp.Write(data)
	_ = tmp.Chmod(0o644)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %v", name, firstErr(werr, cerr))
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}
