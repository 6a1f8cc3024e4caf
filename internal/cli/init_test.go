package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInitFlags(t *testing.T) {
	tests := []struct {
		args     []string
		want     string
		wantCode int
	}{
		{args: nil, want: "pipeline.yaml"},
		{args: []string{"campaign.yaml"}, want: "campaign.yaml"},
		{args: []string{"-"}, want: "-"},
		{args: []string{"a.yaml", "b.yaml"}, wantCode: ExitUsage},
		{args: []string{""}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f, _, _ := testFactory()
			var got *initOptions
			cmd := newInitCmd(f, func(o *initOptions) error { got = o; return nil })
			cmd.SetArgs(tt.args)
			cmd.SilenceErrors, cmd.SilenceUsage = true, true
			err := cmd.Execute()
			if code := exitCode(err); code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d", code, err, tt.wantCode)
			}
			if tt.wantCode == 0 && got.Path != tt.want {
				t.Errorf("Path = %q, want %q", got.Path, tt.want)
			}
		})
	}
}

// TestInitWritesAValidPipeline: the starter validates as it is written (for the Runs API,
// the strictest mode), names itself in its comments, and pi says the next two commands.
func TestInitWritesAValidPipeline(t *testing.T) {
	for _, name := range []string{"pipeline.yaml", "my campaign.yaml"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), name)
			f, out, errOut := testFactory()
			if code := Execute(context.Background(), f, []string{"init", path}); code != ExitOK {
				t.Fatalf("init: exit %d\n%s", code, errOut)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q, want nothing (the file is the result)", out)
			}
			arg := shellArg(path)
			for _, want := range []string{"wrote " + path, "pi validate " + arg + "\n", "pi run " + arg + " --sandbox --download out/ --web\n"} {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, errOut)
				}
			}
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			text := string(data)
			if !strings.HasPrefix(text, "# yaml-language-server: $schema=") {
				t.Errorf("the first line is not the schema modeline:\n%s", text[:80])
			}
			if !strings.Contains(text, "pi run "+shellArg(name)+" --sandbox") {
				t.Errorf("the comments do not name the file %s", shellArg(name))
			}

			f, _, errOut = testFactory()
			if code := Execute(context.Background(), f, []string{"validate", path}); code != ExitOK {
				t.Fatalf("validate: exit %d\n%s", code, errOut)
			}
			if strings.Contains(errOut.String(), "warning") {
				t.Errorf("the starter has warnings:\n%s", errOut)
			}
		})
	}
}

func TestInitNeverOverwrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipeline.yaml")
	if err := os.WriteFile(path, []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, _, errOut := testFactory()
	if code := Execute(context.Background(), f, []string{"init", path}); code != ExitUsage {
		t.Fatalf("exit %d, want %d", code, ExitUsage)
	}
	if !strings.Contains(errOut.String(), "already exists") || !strings.Contains(errOut.String(), "pi init NAME.yaml") {
		t.Errorf("no hint in:\n%s", errOut)
	}
	if data, _ := os.ReadFile(path); string(data) != "mine\n" {
		t.Errorf("the file was changed: %q", data)
	}
}

func TestInitToStdout(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	f, out, errOut := testFactory()
	if code := Execute(context.Background(), f, []string{"init", "-"}); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if out.String() != starterPipeline {
		t.Errorf("stdout is not the starter pipeline")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("init - wrote a file: %v", entries)
	}
}
