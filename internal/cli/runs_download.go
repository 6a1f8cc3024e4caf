package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/download"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/store"
)

type runsDownloadOptions struct {
	ID     string
	Dir    string   // -D; "" is ./pi-<first 8 of the id>
	Steps  []string // --step globs
	Output string   // table or json (the manifest on stdout)
	Quiet  bool
	// Timeout is --timeout: reading the run and every download end by then (exit 5).
	Timeout time.Duration

	// LocalRun is asked first (the local store); found false falls through to the API.
	LocalRun func(id string) (*store.Record, bool, error)
	// GetRun reads a run from the API.
	GetRun func(ctx context.Context, id string) (*run.Run, error)
	// api is the base URL of the Pi API the run is on (a sandbox's for a sandbox run).
	api func() string
}

func newRunsDownloadCmd(f *Factory, runF func(*runsDownloadOptions) error) *cobra.Command {
	o := &runsDownloadOptions{}
	cmd := &cobra.Command{
		Annotations: map[string]string{signalsAnnotation: "yes"},
		Use:         "download ID",
		Short:       "Download the images of a run, with a manifest",
		Long: `Download the image of every completed step of a run (a local run of this machine, else
the run on the Pi API) into a directory, as <step>.png (the extension from the content
type), with manifest.json: the run id and status, and for every file the step, action,
job_id, url, file, bytes and sha256.

It can be run again: a file that already has the image's bytes is kept, a different one
is replaced atomically, and the manifest keeps describing the whole directory. The images
are public URLs on another host than the API: they are fetched without the API key.

Only raster images (PNG, JPEG, GIF, WebP, AVIF, known by their bytes) are kept; an image
URL that leads to an address of this machine or its network is refused, unless the Pi API
itself is on one (the sandbox).

Exit codes: 0 done, 2 bad flags or --step matches no step, 4 the run could not be read
or a download failed (the other files are kept), 5 --timeout passed first (the files
done by then are kept and listed).`,
		Example: `  pi runs download 9f175af9-589b-44e8-86b9-1a434702245a
  pi runs download 9f175af9-589b-44e8-86b9-1a434702245a -D out --step 'localize_*'
  pi runs download 9f175af9-589b-44e8-86b9-1a434702245a -o json --jq '.files[].file'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.ID = args[0]
			if err := checkRunRef(o.ID); err != nil {
				return err
			}
			if o.Output != "table" && o.Output != "json" {
				return UsageErrorf("-o %s: want table or json", o.Output)
			}
			if o.Timeout < 0 {
				return UsageErrorf("--timeout %s: want a positive duration such as 90s or 15m", o.Timeout)
			}
			recorded := newRecordedRuns(cmd.Context(), f)
			defer recorded.close() // a sandbox run's images are served until the command ends
			o.api = func() string {
				if recorded.sess != nil {
					return recorded.sess.inst.URL // a sandbox run: its images are the sandbox's
				}
				return f.apiBase()
			}
			o.LocalRun = func(id string) (*store.Record, bool, error) {
				rec, ok, err := recorded.lookup(id)
				if ok {
					recorded.serveImages(rec)
				}
				if ok && recorded.note != "" {
					fmt.Fprintln(f.IO.ErrOut, "note: "+recorded.note)
				}
				return rec, ok, err
			}
			o.GetRun = remoteRunGetter(f)
			if runF != nil {
				return runF(o)
			}
			return runsDownload(cmd.Context(), f, o)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.Dir, "dir", "D", "", "directory to download into (default ./pi-<first 8 characters of the id>)")
	fl.StringArrayVar(&o.Steps, "step", nil, "only the steps whose id matches this glob, e.g. 'localize_*' (repeatable)")
	fl.StringVarP(&o.Output, "output", "o", "table", "output: table (progress on stderr) or json (this call's files and their outcomes on stdout)")
	fl.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress on stderr")
	fl.DurationVar(&o.Timeout, "timeout", 0, "stop after this long, e.g. 2m (exit 5; the files done by then are kept)")
	return cmd
}

func runsDownload(ctx context.Context, f *Factory, o *runsDownloadOptions) error {
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	var r *run.Run
	if o.LocalRun != nil {
		rec, ok, err := o.LocalRun(o.ID)
		if err != nil {
			return err
		}
		if ok {
			r = rec.Run
		}
	}
	if r == nil {
		var err error
		if r, err = o.GetRun(ctx, o.ID); err != nil {
			if errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return &ExitError{Code: ExitTimeout, Err: fmt.Errorf("--timeout %s passed while reading run %s", o.Timeout, o.ID)}
			}
			return err
		}
	}
	api := ""
	if o.api != nil {
		api = o.api()
	}
	res, err := downloadRun(ctx, f, r, downloadSpec{Dir: o.Dir, Steps: o.Steps, Quiet: o.Quiet, API: api, Timeout: o.Timeout})
	if o.Output == "json" && res != nil {
		// this call's files, not the whole manifest.json (earlier --step calls' too)
		b, jerr := json.MarshalIndent(res.Fetched(), "", "  ")
		if jerr != nil {
			return jerr
		}
		if _, werr := fmt.Fprintf(f.IO.Out, "%s\n", b); werr != nil && err == nil {
			err = werr
		}
	}
	return err
}

// downloadSpec is what downloadRun is asked.
type downloadSpec struct {
	Dir   string   // "" is the default one
	Steps []string // --step globs
	Quiet bool
	// API is the base URL of the Pi API the run is on: when its host is an address of
	// this machine or its network (the sandbox), the images may be there too.
	API string
	// Timeout is the --timeout whose deadline ctx carries (for the message); 0 none.
	Timeout time.Duration
}

// downloadRun fetches r's images with progress on stderr, within ctx's deadline, and maps
// what went wrong to exit codes: 2 for what was asked, 4 for failed downloads, 5 when the
// deadline passed first. The result is nil only when nothing was attempted.
func downloadRun(ctx context.Context, f *Factory, r *run.Run, spec downloadSpec) (*download.Result, error) {
	ios := f.IO
	var progress io.Writer
	debug := f.trace()
	if !spec.Quiet {
		progress = ios.ErrOut
	}
	if !r.Status.Terminal() && !spec.Quiet {
		fmt.Fprintf(ios.ErrOut, "note: run %s is still %s: only the steps completed so far are downloaded\n", r.ID, r.Status)
	}
	res, err := download.Run(ctx, r, download.Options{
		Dir: spec.Dir, Steps: spec.Steps, Progress: progress, Debug: debug,
		Live:          ios.IsStderrTTY() && ios.Getenv("TERM") != "dumb" && debug == nil,
		AllowInternal: apiIsInternal(ctx, spec.API),
		Pace:          apiPace(f, spec.API),
	})
	var (
		nm *download.NoMatchError
		ue *download.UsageError
		fe *download.FailedError
	)
	switch {
	case errors.As(err, &nm), errors.As(err, &ue):
		return nil, &ExitError{Code: ExitUsage, Err: err}
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		saved, total := 0, 0
		if res != nil {
			total, saved = len(res.Items), len(res.Items)-res.Failed()
		}
		dir := spec.Dir
		if dir == "" {
			dir = download.DefaultDir(r.ID)
		}
		return res, &ExitError{Code: ExitTimeout, Err: fmt.Errorf("--timeout %s passed while downloading the images of run %s: %d of %d saved in %s; the rest with: pi runs download %s -D %s",
			spec.Timeout, r.ID, saved, total, dir, r.ID, dir)}
	case ctx.Err() != nil:
		return res, SilentExit(ExitInterrupted)
	case errors.As(err, &fe):
		if !spec.Quiet {
			fmt.Fprintln(ios.ErrOut, res.Summary())
		}
		return res, &ExitError{Code: ExitAPI, Err: err}
	case err != nil:
		return res, err
	}
	if !spec.Quiet {
		fmt.Fprintln(ios.ErrOut, res.Summary())
	}
	return res, nil
}

// apiPace is the transport wrapper that paces the images the API at base serves itself
// with the process's limiter of that origin (nil when base is unknown).
func apiPace(f *Factory, base string) func(http.RoundTripper) http.RoundTripper {
	if base == "" {
		return nil
	}
	return f.limiters.For(base).Transport
}

// apiIsInternal reports whether the Pi API at base is on an address of this machine or
// its network (the sandbox, a private deployment).
func apiIsInternal(ctx context.Context, base string) bool {
	u, err := url.Parse(base)
	if err != nil || u.Hostname() == "" {
		return false
	}
	return download.InternalHost(ctx, u.Hostname())
}
