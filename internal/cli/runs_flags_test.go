package cli

import (
	"reflect"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/render"
)

const flagsID = "9f175af9-589b-44e8-86b9-1a434702245a"

// Flags -> options of pi runs get, runs list and version (runF captures them).
func TestRunsFlagsToOptions(t *testing.T) {
	ios, _, _, _ := render.Test()
	f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
	t.Run("runs get", func(t *testing.T) {
		for _, tt := range []struct {
			args    []string
			want    runsGetOptions
			wantErr bool
		}{
			{[]string{flagsID}, runsGetOptions{ID: flagsID, Format: render.FormatTable}, false},
			{[]string{flagsID, "--wait", "--timeout", "90s", "-o", "json", "-i", "5s"}, runsGetOptions{ID: flagsID, Wait: true, Timeout: 90 * time.Second, Format: render.FormatJSON, Interval: 5 * time.Second}, false},
			{[]string{"not-a-uuid"}, runsGetOptions{}, true},
			{[]string{flagsID, "-i", "10m"}, runsGetOptions{}, true},
			{[]string{flagsID, "-o", "yaml"}, runsGetOptions{}, true},
		} {
			var got *runsGetOptions
			cmd := newRunsGetCmd(f, func(o *runsGetOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			err := cmd.Execute()
			if tt.wantErr {
				if exitCode(err) != ExitUsage || got != nil {
					t.Errorf("%v: err %v, runF called %v; want a usage error", tt.args, err, got != nil)
				}
				continue
			}
			if err != nil || got == nil || got.IO != ios || got.APIClient == nil || got.LocalRun == nil {
				t.Fatalf("%v: err %v, options %+v", tt.args, err, got)
			}
			g := *got
			g.IO, g.APIClient, g.LocalRun, g.recorded = nil, nil, nil, nil
			if !reflect.DeepEqual(g, tt.want) {
				t.Errorf("%v: options %+v, want %+v", tt.args, g, tt.want)
			}
		}
	})
	t.Run("runs list", func(t *testing.T) {
		for _, tt := range []struct {
			args    []string
			output  string
			limit   int
			wantErr bool
		}{
			{nil, "table", 0, false},
			{[]string{"-o", "json", "--limit", "3"}, "json", 3, false},
			{[]string{"-o", "jsonl"}, "jsonl", 0, false},
			{[]string{"-o", "yaml"}, "", 0, true},
			{[]string{"extra"}, "", 0, true},
			{[]string{"--local", "--sandbox"}, "", 0, true},
		} {
			var got *runsListOptions
			cmd := newRunsListCmd(f, func(o *runsListOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if tt.wantErr != (err != nil) || (err == nil && (got.Output != tt.output || got.Limit != tt.limit || got.Records == nil)) {
				t.Errorf("%v: err %v, options %+v", tt.args, err, got)
			}
		}
	})
	t.Run("version", func(t *testing.T) {
		var got *versionOptions
		f := &Factory{IO: ios, Build: BuildInfo{Version: "1.2.3"}}
		cmd := newVersionCmd(f, func(o *versionOptions) error { got = o; return nil })
		cmd.SetArgs(nil)
		if err := cmd.Execute(); err != nil || got == nil || got.Build.Version != "1.2.3" {
			t.Fatalf("err %v, options %+v", err, got)
		}
	})
}
