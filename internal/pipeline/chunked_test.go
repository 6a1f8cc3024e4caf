package pipeline

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// wholeParse is Parse without the chunked path.
func wholeParse(name string, data []byte) (*Pipeline, *Source, Diagnostics) {
	p, src, probs := parseWhole(name, data, items(data))
	return p, src, finish(name, src, p, p, nil, probs, nil, nil)
}

// entries lists what a Source knows, one "path key-position value-position" line per
// value, in order: two Sources that know the same places give the same lines, whatever
// the order their paths were interned in.
func entries(src *Source) []string {
	var out []string
	line := func(path string, e srcEntry) string {
		return fmt.Sprintf("%s %v %v", path, e.key.pos(), e.val.pos())
	}
	for _, e := range src.top {
		out = append(out, line(src.paths.name(e.path), e))
	}
	slices.Sort(out)
	for i := range src.steps {
		for _, e := range src.stepEntries(i) {
			out = append(out, line(fmt.Sprintf("steps.%d.%s", src.steps[i].item, src.paths.name(e.path)), e))
		}
	}
	return append(out, fmt.Sprint("reported ", src.reported, src.stepsReported))
}

// diffSources says where two Sources differ, "" when they know the same places.
func diffSources(got, want *Source) string {
	g, w := entries(got), entries(want)
	for i := range min(len(g), len(w)) {
		if g[i] != w[i] {
			return fmt.Sprintf("%q, whole parse %q", g[i], w[i])
		}
	}
	if len(g) != len(w) {
		return fmt.Sprintf("%d entries, whole parse %d", len(g), len(w))
	}
	return ""
}

// For every pipeline file of the repository the chunked parse either declines or gives
// exactly the pipeline of the whole parse (positions included), with no diagnostics where
// the whole parse has none.
func TestChunkedParseIsTheWholeParse(t *testing.T) {
	var files []string
	for _, glob := range []string{"../../testdata/pipelines/*/*.yaml", "../../testdata/*/*.yaml", "../../examples/*.yaml", "testdata/*/*.yaml", "testdata/*.yaml"} {
		m, _ := filepath.Glob(glob)
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("only %d pipeline files found", len(files))
	}
	used := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		got, gotSrc, _, ok := chunker{per: chunkItems}.parse(f, data, items(data))
		if !ok {
			continue
		}
		used++
		want, wantSrc, ds := wholeParse(f, data)
		if len(ds) > 0 {
			t.Errorf("%s: the chunked parse accepted a file the whole parse reports: %v", f, ds)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: chunked parse differs:\n%+v\nwhole:\n%+v", f, got, want)
		}
		if d := diffSources(gotSrc, wantSrc); d != "" {
			t.Errorf("%s: chunked positions differ: %s", f, d)
		}
	}
	if used < 10 {
		t.Errorf("the chunked parse applied to %d of %d files: it declines too much to be tested", used, len(files))
	}
}

// A big generated file with what real files hold around and inside the steps: params and
// metadata on both sides, comments, block scalars, nested input, retries, a list at column
// 0. Parse takes the chunked path (no diagnostics) and gives the whole parse's pipeline.
func TestChunkedParseOfABigFile(t *testing.T) {
	for _, indent := range []string{"  ", ""} {
		var b strings.Builder
		b.WriteString("# generated\nparams:\n  who: world\nsteps:\n")
		for i := range 3000 {
			fmt.Fprintf(&b, "%s- id: s%d # the %dth\n", indent, i, i)
			fmt.Fprintf(&b, "%s  action: shell.run\n", indent)
			fmt.Fprintf(&b, "%s  input:\n%s    script: |\n%s      echo ${params.who} %d\n%s      - not an item\n", indent, indent, indent, i, indent)
			if i > 0 {
				fmt.Fprintf(&b, "%s  depends_on: [s%d]\n", indent, i-1)
			}
			if i%100 == 0 {
				fmt.Fprintf(&b, "\n# a comment between steps\n%s  retry: {max_attempts: 2, backoff: 1s}\n", indent)
			}
		}
		b.WriteString("\nmetadata:\n  team: ads\n")
		data := []byte(b.String())
		if len(data) < chunkedMin {
			t.Fatalf("only %d bytes", len(data))
		}
		got, gotSrc, _, ok := chunker{per: chunkItems}.parse("big.yaml", data, items(data))
		if !ok {
			t.Fatalf("indent %q: the chunked parse declined", indent)
		}
		want, wantSrc, ds := wholeParse("big.yaml", data)
		if len(ds) > 0 {
			t.Fatalf("whole parse: %v", ds)
		}
		if !reflect.DeepEqual(got, want) {
			for i := range want.Steps {
				if !reflect.DeepEqual(got.Steps[i], want.Steps[i]) {
					t.Fatalf("indent %q: step %d differs:\n%+v\nwhole:\n%+v", indent, i, got.Steps[i], want.Steps[i])
				}
			}
			t.Fatalf("indent %q: pipelines differ", indent)
		}
		if d := diffSources(gotSrc, wantSrc); d != "" {
			t.Fatalf("indent %q: positions differ: %s", indent, d)
		}
		if p, _, ds := Parse("big.yaml", data); len(ds) > 0 || !reflect.DeepEqual(p, want) {
			t.Fatalf("Parse: %v", ds)
		}
	}
}

// What the chunked parse must not decide is left to the whole parse: its diagnostics are
// the whole parse's, for a big file too.
func TestChunkedParseDeclines(t *testing.T) {
	big := func(head, item, tail string) []byte {
		var b strings.Builder
		b.WriteString("# " + strings.Repeat("big ", chunkedMin/4) + "\n") // over chunkedMin
		b.WriteString(head)
		for i := range 200 {
			fmt.Fprintf(&b, item, i)
		}
		b.WriteString(tail)
		return []byte(b.String())
	}
	for name, data := range map[string][]byte{
		"alias of an anchor outside":   big("x-defaults: &d {action: shell.run, input: {command: [\"true\"]}}\nsteps:\n", "  - <<: *d\n    id: s%d\n", ""),
		"an unknown key in a step":     big("steps:\n", "  - id: s%d\n    action: shell.run\n    input: {command: [\"true\"]}\n    dependson: []\n", ""),
		"flow list":                    big("steps: [\n", "  {id: s%d, action: shell.run, input: {command: [\"true\"]}},\n", "]\n"),
		"two documents":                big("steps:\n", "  - id: s%d\n    action: shell.run\n    input: {command: [\"true\"]}\n", "---\nsteps: []\n"),
		"steps twice":                  big("steps:\n", "  - id: s%d\n    action: shell.run\n    input: {command: [\"true\"]}\n", "steps:\n  - id: again\n"),
		"bad indentation in a step":    big("steps:\n", "  - id: s%d\n   action: shell.run\n", ""),
		"a step that is not a map":     big("steps:\n", "  - s%d\n", ""),
		"tab":                          big("steps:\n", "  - id: s%d\n\taction: shell.run\n", ""),
		"a key at the list's level":    big("steps:\n", "  - id: s%d\n    action: shell.run\n    input: {command: [\"true\"]}\n", "  oops: 1\n"),
		"invalid YAML in the last one": big("steps:\n", "  - id: s%d\n    action: shell.run\n    input: {command: [\"true\"]}\n", "  - id: \"unterminated\n"),
	} {
		if _, _, _, ok := (chunker{per: chunkItems}).parse("f.yaml", data, items(data)); ok {
			t.Errorf("%s: the chunked parse accepted it", name)
		}
		got, _, gotDs := Parse("f.yaml", data)
		want, _, wantDs := wholeParse("f.yaml", data)
		if !reflect.DeepEqual(gotDs, wantDs) || !reflect.DeepEqual(got, want) {
			t.Errorf("%s: Parse differs from the whole parse", name)
		}
	}
}

// FuzzChunkedParse: the chunked parse is the whole parse. Whatever the text, cut in pieces
// of one to three steps (so that small inputs make several), the chunked parse either
// declines or gives the whole parse's pipeline and positions with no diagnostics; and the
// parse of a file too big to be parsed whole, when it reports nothing, gives them too.
func FuzzChunkedParse(f *testing.F) {
	for _, glob := range []string{"../../testdata/pipelines/*/*.yaml", "../../testdata/pipelines/valid/local/*.yaml"} {
		files, _ := filepath.Glob(glob)
		for _, path := range files {
			if data, err := os.ReadFile(path); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte("params: {who: w}\nsteps:\n- id: a\n  action: shell.run\n  input: {command: [echo, \"${params.who}\"]}\n\n# c\n- id: b\n  action: shell.run\n  depends_on: [a]\n  retry: {max_attempts: 2}\n  input:\n    script: |\n      - not an item\nmetadata: {x: 1}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := chunker{per: 1 + len(data)%3}
		want, wantSrc, wantDs := wholeParse("f.yaml", data)
		if got, gotSrc, probs, ok := c.parse("f.yaml", data, items(data)); ok {
			if len(probs) > 0 || len(wantDs) > 0 {
				t.Fatalf("accepted with problems %v; whole parse: %v", probs, wantDs)
			}
			sameParse(t, got, gotSrc, want, wantSrc)
		}
		c.must = true
		if got, gotSrc, probs, ok := c.parse("f.yaml", data, items(data)); ok && len(probs) == 0 {
			if len(wantDs) > 0 {
				t.Fatalf("read in pieces without a problem; whole parse: %v", wantDs)
			}
			sameParse(t, got, gotSrc, want, wantSrc)
		}
	})
}

func sameParse(t *testing.T, got *Pipeline, gotSrc *Source, want *Pipeline, wantSrc *Source) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pipelines differ:\n%+v\nwhole parse:\n%+v", got, want)
	}
	if d := diffSources(gotSrc, wantSrc); d != "" {
		t.Fatalf("positions differ: %s", d)
	}
}
