package cli

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/report"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

type runsReportOptions struct {
	ID       string
	Dir      string            // -D: a download directory whose images are embedded
	Out      string            // --out FILE; "" is stdout
	Pipeline string            // --pipeline FILE: the inputs of a remote run
	Params   map[string]string // -p, with --pipeline

	LocalRun func(id string) (*store.Record, bool, error)
	GetRun   func(ctx context.Context, id string) (*run.Run, error)
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
it reads offline, in a mail or an archive; otherwise they are linked.

A local run's inputs come from its record; the Pi API does not return a run's inputs, so
for a remote run give the pipeline file with --pipeline (and its -p params).`,
		Example: `  pi runs report 9f175af9-589b-44e8-86b9-1a434702245a > report.html
  pi runs download 9f175af9-589b-44e8-86b9-1a434702245a -D imgs
  pi runs report 9f175af9-589b-44e8-86b9-1a434702245a -D imgs --out report.html
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
			if runF != nil {
				return runF(o)
			}
			return runsReport(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Dir, "dir", "D", "", "embed the images downloaded into this directory (pi runs download -D)")
	fl.StringVar(&o.Out, "out", "", "write the page to this file instead of stdout")
	fl.StringVar(&o.Pipeline, "pipeline", "", "the run's pipeline file, for the inputs of a remote run")
	fl.StringArrayVarP(&params, "param", "p", nil, "a param of the --pipeline file: -p name=value (repeatable)")
	return cmd
}

func runsReport(ctx context.Context, f *Factory, o *runsReportOptions) error {
	var (
		r      *run.Run
		inputs map[string]report.Input
	)
	if o.LocalRun != nil {
		rec, ok, err := o.LocalRun(o.ID)
		if err != nil {
			return err
		}
		if ok {
			r = rec.Run
			inputs = pipelineInputs(rec.File, rec.Pipeline, rec.Params)
		}
	}
	if r == nil {
		var err error
		if r, err = o.GetRun(ctx, o.ID); err != nil {
			return err
		}
	}
	if o.Pipeline != "" {
		name, data, err := readPipelineFile(f.IO, o.Pipeline)
		if err != nil {
			return UsageErrorf("--pipeline: %v", err)
		}
		if inputs = pipelineInputs(name, data, o.Params); inputs == nil {
			return UsageErrorf("--pipeline %s: not a pipeline pi can read (pi validate %s says why)", name, name)
		}
	}
	var buf bytes.Buffer
	warns, err := report.Write(&buf, r, report.Options{Inputs: inputs, Dir: o.Dir, Generator: "pi " + f.Build.Version})
	if err != nil {
		return UsageErrorf("%v", err)
	}
	for _, w := range warns {
		fmt.Fprintln(f.IO.ErrOut, "warning: "+w)
	}
	if o.Out == "" {
		_, err := f.IO.Out.Write(buf.Bytes())
		return err
	}
	return writeFileAtomic(o.Out, buf.Bytes())
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
