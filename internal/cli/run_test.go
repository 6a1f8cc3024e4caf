package cli

import (
	"github.com/spf13/cobra"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/render"
	"github.com/pi-cli/pi/internal/sandbox"
)

// Flags -> options: what each command line fills in, and what it refuses (exit 2) before
// anything runs.
func TestRunFlagsToOptions(t *testing.T) {
	def := func(mod func(o *runOptions)) *runOptions {
		o := &runOptions{File: "p.yaml", Output: render.FormatTable, Concurrency: defaultLocalConcurrency, StrictFromConfig: true}
		if mod != nil {
			mod(o)
		}
		return o
	}
	tests := []struct {
		args    string
		want    *runOptions
		wantErr string
	}{
		{args: "p.yaml", want: def(nil)},
		{args: "- --sandbox", want: def(func(o *runOptions) { o.File, o.Sandbox = "-", true })},
		{args: "p.yaml -p a=1 -p b=x=y -p a=2", want: def(func(o *runOptions) { o.Params = map[string]string{"a": "2", "b": "x=y"} })},
		{args: "p.yaml -o json -q --timeout 90s", want: def(func(o *runOptions) { o.Output, o.Quiet, o.Timeout = render.FormatJSON, true, 90*time.Second })},
		{args: "p.yaml -o text", want: def(nil)},
		{args: "p.yaml -i 5s", want: def(func(o *runOptions) { o.Interval = 5 * time.Second })},
		{args: "p.yaml --interval 1m", want: def(func(o *runOptions) { o.Interval = time.Minute })},
		{args: "p.yaml --detach", want: def(func(o *runOptions) { o.Detach = true })},
		{args: "p.yaml --strict", want: def(func(o *runOptions) { o.Strict, o.StrictFromConfig = true, false })},
		{args: "p.yaml --strict=false", want: def(func(o *runOptions) { o.StrictFromConfig = false })},
		{args: "p.yaml --local --concurrency 3 --fail-fast --sandbox -o jsonl", want: def(func(o *runOptions) {
			o.Local, o.Concurrency, o.FailFast, o.Sandbox, o.Output = true, 3, true, true, render.FormatJSONL
		})},
		{args: "--resume 9f175af9-589b-44e8-86b9-1a434702245a", want: def(func(o *runOptions) {
			o.File, o.Local, o.Resume = "", true, "9f175af9-589b-44e8-86b9-1a434702245a"
		})},
		{args: "p.yaml --sandbox --sandbox-rate-limit 120/min", want: def(func(o *runOptions) {
			o.Sandbox, o.SandboxRateLimit = true, sandbox.Rate{N: 120, Per: time.Minute}
		})},
		{args: "p.yaml --sandbox-rate-limit 120/min", wantErr: "add --sandbox"},
		{args: "p.yaml --sandbox --sandbox-rate-limit 120/week", wantErr: "s, min or h"},
		{args: "p.yaml --no-cache --max-jobs 0", want: def(func(o *runOptions) { o.NoCache, o.Budget = true, true })},
		{args: "p.yaml --cache=read --max-jobs 2", want: def(func(o *runOptions) { o.CacheRead, o.MaxJobs, o.Budget = true, 2, true })},
		{args: "p.yaml --reroll hero --reroll fr", want: def(func(o *runOptions) { o.Reroll = []string{"hero", "fr"} })},
		{args: "p.yaml --cache=read --no-cache", wantErr: "pick one"},
		{args: "p.yaml --cache=off", wantErr: "--cache off: want on or read"},
		{args: "p.yaml --no-cache --reroll hero", wantErr: "drop --reroll"},
		{args: "p.yaml --cache read --reroll hero", wantErr: "keeps nothing"},
		{args: "p.yaml --max-jobs -1", wantErr: "want 0 or more"},
		{args: "", wantErr: "needs one pipeline FILE"},
		{args: "a.yaml b.yaml", wantErr: "needs one pipeline FILE"},
		{args: "p.yaml --resume 9f175af9-589b-44e8-86b9-1a434702245a", wantErr: "--resume takes the run id"},
		{args: "p.yaml --sandbox --detach", wantErr: "the sandbox lives in this pi process"},
		{args: "p.yaml --local --detach", wantErr: "--detach is for runs on the Pi API"},
		{args: "--resume 9f175af9-589b-44e8-86b9-1a434702245a --detach", wantErr: "--detach is for runs on the Pi API"},
		{args: "p.yaml --detach --timeout 1m", wantErr: "--detach does not follow"},
		{args: "p.yaml --detach -i 3s", wantErr: "--detach does not follow"},
		{args: "p.yaml --local -i 3s", wantErr: "--interval applies to runs on the Pi API"},
		{args: "p.yaml -i 10ms", wantErr: "--interval 10ms: want 1s to 5m0s"},
		{args: "p.yaml --concurrency 2", wantErr: "--concurrency applies to --local runs only"},
		{args: "p.yaml --fail-fast", wantErr: "--fail-fast applies to --local runs only"},
		{args: "p.yaml --local --concurrency 0", wantErr: "--concurrency 0: want 1 or more"},
		{args: "p.yaml --timeout -1s", wantErr: "--timeout -1s"},
		{args: "p.yaml -o yaml", wantErr: "-o yaml"},
		{args: "p.yaml -p nope", wantErr: "expected NAME=VALUE"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			ios, _, _, _ := render.Test()
			f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
			var got *runOptions
			cmd := newRunCmd(f, func(o *runOptions) error { got = o; return nil })
			// As the root command does: a flag's value that does not parse is a usage error.
			cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return flagError{err} })
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if code := exitCode(err); code != ExitUsage {
					t.Errorf("exit code %d, want %d", code, ExitUsage)
				}
				if got != nil {
					t.Errorf("runF was called with %+v", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.runDeps = runDeps{} // flags fill the flags' fields; the dependencies are the Factory's
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("options\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}
