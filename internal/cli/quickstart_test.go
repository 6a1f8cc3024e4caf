package cli

import (
	"os"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

const readmePath = "../../README.md"

// readmeBlock is the first fenced block of kind lang after the README's heading.
func readmeBlock(t *testing.T, heading, lang string) string {
	t.Helper()
	data, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	i := strings.Index(s, "\n"+heading+"\n")
	if i < 0 {
		t.Fatalf("README.md has no %q", heading)
	}
	s = s[i:]
	start := strings.Index(s, "```"+lang+"\n")
	if start < 0 {
		t.Fatalf("README.md has no ```%s block under %q", lang, heading)
	}
	s = s[start+len("```"+lang+"\n"):]
	return s[:strings.Index(s, "```\n")]
}

// TestQuickstartFollowsReadme: testdata/script/quickstart.txtar runs the README's
// Quickstart commands verbatim (comments aside), in order; only `go install` is the
// test's own build.
func TestQuickstartFollowsReadme(t *testing.T) {
	var want []string
	for _, line := range strings.Split(readmeBlock(t, "## Quickstart", "sh"), "\n") {
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "go install ") {
			continue
		}
		want = append(want, line)
	}
	if len(want) == 0 {
		t.Fatal("the Quickstart has no pi command")
	}
	script, err := os.ReadFile("../../testdata/script/quickstart.txtar")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, line := range strings.Split(string(script), "\n") {
		if cmd, ok := strings.CutPrefix(line, "exec "); ok {
			got = append(got, cmd)
		}
	}
	if len(got) < len(want) || !reflect.DeepEqual(got[:len(want)], want) {
		t.Errorf("quickstart.txtar runs\n  %s\nthe README's Quickstart says\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// TestReadmePipelineIsTheStarter: the README's first pipeline is what `pi init` writes,
// comments aside.
func TestReadmePipelineIsTheStarter(t *testing.T) {
	var readme, starter any
	if err := yaml.Unmarshal([]byte(readmeBlock(t, "## A first pipeline", "yaml")), &readme); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(starterPipeline), &starter); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(readme, starter) {
		t.Errorf("README's first pipeline differs from internal/cli/starter.yaml:\n%v\n%v", readme, starter)
	}
}
