package cli

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestGraphFlags(t *testing.T) {
	tests := []struct {
		args       []string
		wantFormat string
		wantCode   int
	}{
		{args: []string{"a.yaml"}, wantFormat: "text"},
		{args: []string{"a.yaml", "--format", "mermaid"}, wantFormat: "mermaid"},
		{args: []string{"a.yaml", "--format=dot"}, wantFormat: "dot"},
		{args: []string{"a.yaml", "--format", "svg"}, wantCode: ExitUsage},
		{args: []string{"a.yaml", "-o", "dot"}, wantFormat: "dot"},
		{args: []string{"a.yaml", "--output=mermaid"}, wantFormat: "mermaid"},
		{args: []string{"a.yaml", "-o", "svg"}, wantCode: ExitUsage},
		{args: []string{"a.yaml", "-o", "dot", "--format", "dot"}, wantCode: ExitUsage},
		{args: []string{}, wantCode: ExitUsage},
		{args: []string{"a.yaml", "b.yaml"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, _, _ := testFactory()
			var got *graphOptions
			cmd := newGraphCmdWith(f, func(o *graphOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceUsage, cmd.SilenceErrors = true, true
			cmd.SetOut(&bytes.Buffer{})
			cmd.SetErr(&bytes.Buffer{})
			err := cmd.Execute()
			if tt.wantCode != 0 {
				if exitCode(err) != tt.wantCode {
					t.Fatalf("exit %d (%v), want %d", exitCode(err), err, tt.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.File != tt.args[0] || got.Format != tt.wantFormat {
				t.Errorf("options = %+v", got)
			}
		})
	}
}

func TestRunGraph(t *testing.T) {
	dir := t.TempDir()
	path := writeFile(t, dir, "p.yaml", `steps:
  - { id: "say \"hi\"", action: campaigns.generate, input: { prompt: p } }
  - { id: b, action: campaigns.edit, depends_on: ['say "hi"'], input: { prompt: p, source_job_id: 9f175af9-589b-44e8-86b9-1a434702245a } }
  - { id: c, action: campaigns.generate, input: { prompt: p } }
`)
	tests := []struct {
		format string
		want   string
	}{
		{"text", filepath.Base(path) + ": 3 steps in 2 layers\n\nlayer 1\n  say \"hi\"  campaigns.generate\n  c         campaigns.generate\n\nlayer 2\n  b         campaigns.edit      <- say \"hi\"\n"},
		{"mermaid", "flowchart TD\n  s0[\"say #quot;hi#quot;<br/><small>campaigns.generate</small>\"]\n  s1[\"b<br/><small>campaigns.edit</small>\"]\n  s2[\"c<br/><small>campaigns.generate</small>\"]\n  s0 --> s1\n"},
		{"dot", "digraph pipeline {\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n  \"say \\\"hi\\\"\" [label=\"say \\\"hi\\\"\\ncampaigns.generate\"];\n  \"b\" [label=\"b\\ncampaigns.edit\"];\n  \"c\" [label=\"c\\ncampaigns.generate\"];\n  \"say \\\"hi\\\"\" -> \"b\";\n}\n"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			f, out, _ := testFactory()
			opts := &graphOptions{IO: f.IO, File: path, Format: tt.format}
			if err := runGraph(opts); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if tt.format == "text" {
				got = strings.Replace(got, path, filepath.Base(path), 1)
			}
			if got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestActionsAndSchemaFlags(t *testing.T) {
	tests := []struct {
		name     string
		run      func(f *Factory, args []string) error
		args     []string
		wantCode int
		wantOut  string
	}{
		{name: "actions table", run: runActionsCmd, args: nil, wantOut: "ACTION"},
		{name: "actions json", run: runActionsCmd, args: []string{"-o", "json"}, wantOut: `"name": "brands.extract"`},
		{name: "actions bad output", run: runActionsCmd, args: []string{"-o", "csv"}, wantCode: ExitUsage},
		{name: "actions extra arg", run: runActionsCmd, args: []string{"x"}, wantCode: ExitUsage},
		{name: "schema", run: runSchemaCmd, args: nil, wantOut: `"$schema": "https://json-schema.org/draft/2020-12/schema"`},
		{name: "schema extra arg", run: runSchemaCmd, args: []string{"x"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, out, _ := testFactory()
			err := tt.run(f, tt.args)
			if exitCode(err) != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d", exitCode(err), err, tt.wantCode)
			}
			if !strings.Contains(out.String(), tt.wantOut) {
				t.Errorf("stdout does not contain %q:\n%s", tt.wantOut, out)
			}
		})
	}
}

func runActionsCmd(f *Factory, args []string) error {
	cmd := newActionsCmd(f)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.Execute()
}

func runSchemaCmd(f *Factory, args []string) error {
	cmd := newSchemaCmd(f)
	cmd.SetArgs(args)
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	return cmd.Execute()
}
