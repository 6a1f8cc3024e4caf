package cli

import (
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/render"
)

func TestRunsReportFlags(t *testing.T) {
	tests := []struct {
		args    string
		want    runsReportOptions
		wantErr string
	}{
		{args: dlID, want: runsReportOptions{ID: dlID}},
		{args: dlID + " -D imgs --out r.html", want: runsReportOptions{ID: dlID, Dir: "imgs", Out: "r.html"}},
		{args: dlID + " --pipeline p.yaml -p a=1", want: runsReportOptions{ID: dlID, Pipeline: "p.yaml", Params: map[string]string{"a": "1"}}},
		{args: dlID + " -p a=1", wantErr: "give --pipeline too"},
		{args: dlID + " --pipeline p.yaml -p nope", wantErr: "NAME=VALUE"},
		{args: "x", wantErr: "expected a run id"},
	}
	for _, tt := range tests {
		t.Run(tt.args, func(t *testing.T) {
			ios, _, _, _ := render.Test()
			f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
			var got *runsReportOptions
			cmd := newRunsReportCmd(f, func(o *runsReportOptions) error { got = o; return nil })
			cmd.SetArgs(strings.Fields(tt.args))
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitCode(err) != ExitUsage {
					t.Fatalf("err %v (exit %d), want exit 2 with %q", err, exitCode(err), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ID != tt.want.ID || got.Dir != tt.want.Dir || got.Out != tt.want.Out || got.Pipeline != tt.want.Pipeline ||
				len(got.Params) != len(tt.want.Params) || got.LocalRun == nil || got.GetRun == nil {
				t.Errorf("options %+v, want %+v", got, tt.want)
			}
		})
	}
}
