package cli

import (
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/render"
)

const dlID = "9f175af9-589b-44e8-86b9-1a434702245a"

func TestRunsDownloadFlags(t *testing.T) {
	tests := []struct {
		args    string
		want    runsDownloadOptions
		wantErr string
	}{
		{args: dlID, want: runsDownloadOptions{ID: dlID, Output: "table"}},
		{args: dlID + " -D out --step a* --step b -o json -q", want: runsDownloadOptions{ID: dlID, Dir: "out", Steps: []string{"a*", "b"}, Output: "json", Quiet: true}},
		{args: dlID + " --dir x", want: runsDownloadOptions{ID: dlID, Dir: "x", Output: "table"}},
		{args: "nope", wantErr: "expected a run id"},
		{args: "", wantErr: "takes 1 argument"},
		{args: dlID + " -o jsonl", wantErr: "-o jsonl: want table or json"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			ios, _, _, _ := render.Test()
			f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
			var got *runsDownloadOptions
			cmd := newRunsDownloadCmd(f, func(o *runsDownloadOptions) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SetOut(ios.Out)
			cmd.SetErr(ios.ErrOut)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != ExitUsage {
					t.Fatalf("err = %v (exit %d), want exit 2 with %q", err, exitCode(err), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.LocalRun == nil || got.GetRun == nil {
				t.Error("the run lookups are not set")
			}
			got.LocalRun, got.GetRun = nil, nil
			if got.ID != tt.want.ID || got.Dir != tt.want.Dir || got.Output != tt.want.Output || got.Quiet != tt.want.Quiet ||
				strings.Join(got.Steps, ",") != strings.Join(tt.want.Steps, ",") {
				t.Errorf("options %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRunDownloadFlag(t *testing.T) {
	for args, want := range map[string]string{
		"p.yaml --download out":             "",
		"p.yaml --download out --detach":    "--detach does not wait",
		"p.yaml --download out --dry-run":   "--dry-run runs nothing",
		"p.yaml --local --download out -q":  "",
		"p.yaml --sandbox --download a/b/c": "",
	} {
		t.Run(args, func(t *testing.T) {
			ios, _, _, _ := render.Test()
			f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
			var got *runOptions
			cmd := newRunCmd(f, func(o *runOptions) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(args))
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if want != "" {
				if err == nil || !strings.Contains(err.Error(), want) || exitCode(err) != ExitUsage {
					t.Fatalf("err %v, want exit 2 with %q", err, want)
				}
				return
			}
			fields := strings.Fields(args)
			var dir string
			for i, a := range fields {
				if a == "--download" {
					dir = fields[i+1]
				}
			}
			if err != nil || got == nil || got.Download != dir {
				t.Errorf("err %v, options %+v, want Download %q", err, got, dir)
			}
		})
	}
}
