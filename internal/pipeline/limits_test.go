package pipeline

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// bigSteps is a file of n steps, each followed by blank lines so that few steps make more
// than MaxItems lines and flow items; step i is item(i) when item is not nil.
func bigSteps(n int, head string, item func(i int) string) []byte {
	var b bytes.Buffer
	b.WriteString(head + "steps:\n")
	for i := range n {
		s := ""
		if item != nil {
			s = item(i)
		}
		if s == "" {
			s = fmt.Sprintf("  - id: s%d\n    action: shell.run\n    input: {command: [\"true\"]}\n", i)
		}
		b.WriteString(s + "\n\n\n\n\n\n")
	}
	return b.Bytes()
}

// stepLine is the line where step i of bigSteps starts (with a one-line head).
func stepLine(i, headLines int) int { return headLines + 2 + 9*i }

// A file of more lines and flow items than pi parses at once is read in pieces: it is
// accepted, its steps all there at their own lines, its problems reported where they are
// (never by parsing it whole).
func TestBigFileReadInPieces(t *testing.T) {
	const n = 25_000
	data := bigSteps(n, "", nil)
	if items(data) <= MaxItems {
		t.Fatalf("only %d items", items(data))
	}
	if _, err := ReadLimited(bytes.NewReader(data), "big.yaml"); err != nil {
		t.Fatal(err)
	}
	p, src, ds := Parse("big.yaml", data)
	if len(ds) > 0 || p == nil || len(p.Steps) != n {
		t.Fatalf("%d diagnostics (%v), %v steps", len(ds), ds.Capped(), p != nil)
	}
	if s, at := p.Steps[n-1], src.Locate(fmt.Sprint("steps.", n-1)); s.ID != fmt.Sprint("s", n-1) || at.Line != stepLine(n-1, 0) {
		t.Fatalf("last step %q at line %d, want line %d", s.ID, at.Line, stepLine(n-1, 0))
	}

	bad := 20_000
	for name, tt := range map[string]struct {
		item func(i int) string
		head string
		want string
		line int
	}{
		"unknown key": {item: func(i int) string {
			if i == bad {
				return "  - id: x\n    action: shell.run\n    input: {command: [\"true\"]}\n    dependson: []\n"
			}
			return ""
		}, want: `unknown step key "dependson"`, line: stepLine(bad, 0) + 3},
		"invalid YAML": {item: func(i int) string {
			if i == bad {
				return "  - id: x\n    action: shell.run\n    input: {command: [\"true\"]\n"
			}
			return ""
		}, want: "invalid YAML", line: -1},
		"not a mapping": {item: func(i int) string {
			if i == bad {
				return "  - just text\n"
			}
			return ""
		}, want: fmt.Sprintf("step %d must be a mapping", bad+1), line: stepLine(bad, 0)},
		"alias of an anchor outside": {head: "x-d: &d {action: shell.run}\n", item: func(i int) string {
			if i == bad {
				return "  - <<: *d\n    id: x\n"
			}
			return ""
		}, want: "an alias can only refer to an anchor of its own step", line: -1},
	} {
		data := bigSteps(n, tt.head, tt.item)
		_, _, ds := Parse("big.yaml", data)
		found := false
		for _, d := range ds {
			if strings.Contains(d.Message, tt.want) && d.Severity == Error {
				found = true
				if tt.line > 0 && d.Pos.Line != tt.line {
					t.Errorf("%s: at line %d, want %d", name, d.Pos.Line, tt.line)
				}
				if tt.line < 0 && (d.Pos.Line < stepLine(bad/chunkItems*chunkItems, 0) || d.Pos.Line > stepLine(bad/chunkItems*chunkItems+chunkItems, 0)) {
					t.Errorf("%s: at line %d, not in the piece of step %d", name, d.Pos.Line, bad)
				}
			}
		}
		if !found {
			t.Errorf("%s: no error %q in %v", name, tt.want, ds.Capped())
		}
	}
}

// What cannot be read in pieces, or is too big even so, is refused before it is parsed,
// saying why.
func TestBigFileRefused(t *testing.T) {
	flow := "steps: [\n" + strings.Repeat("  {id: s, action: shell.run, input: {command: [\"true\"]}},\n", MaxItems/4) + "]\n"
	oneStep := bigSteps(10, "", func(i int) string {
		if i == 3 {
			return "  - id: x\n    action: shell.run\n    input: {command: [" + strings.Repeat("1,", MaxItems) + "1]}\n"
		}
		return ""
	})
	outside := "params:\n  p: {default: [" + strings.Repeat("1,", MaxItems) + "1]}\n" + string(bigSteps(10, "", nil)[len("steps:\n"):])
	outside = strings.Replace(outside, "  - id: s0", "steps:\n  - id: s0", 1)
	for name, tt := range map[string]struct {
		data []byte
		want string
	}{
		"flow style":       {[]byte(flow), "needs its steps to be one block list"},
		"one huge step":    {oneStep, fmt.Sprintf("big.yaml:%d: the 10 steps from this line have", stepLine(0, 0))},
		"outside steps":    {[]byte(outside), "outside its steps, more than the 250000"},
		"too many in all":  {bigSteps(MaxTotalItems/9+1, "", nil), fmt.Sprintf("has more than %d lines and flow items", MaxTotalItems)},
		"NUL bytes":        {make([]byte, 100), "holds NUL bytes"},
		"too large":        {bytes.Repeat([]byte("#"), MaxFileSize+1), fmt.Sprintf("larger than %d MiB", MaxFileSize>>20)},
		"many short lines": {bytes.Repeat([]byte("\n"), MaxTotalItems+1), "lines and flow items"},
	} {
		_, err := ReadLimited(bytes.NewReader(tt.data), "big.yaml")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want %q", name, err, tt.want)
		}
		if len(tt.data) <= MaxFileSize && bytes.IndexByte(tt.data, 0) < 0 && items(tt.data) <= MaxTotalItems {
			// Parse of data that did not come through ReadLimited refuses it the same way.
			if _, _, ds := Parse("big.yaml", tt.data); len(ds) != 1 || !strings.Contains(ds[0].Message, tt.want) {
				t.Errorf("%s: Parse: %v", name, ds.Capped())
			}
		}
	}
	// A UTF-16 file holds NUL bytes and is read.
	utf16 := []byte{0xFF, 0xFE}
	for _, c := range "steps: []\n" {
		utf16 = append(utf16, byte(c), 0)
	}
	if _, err := ReadLimited(bytes.NewReader(utf16), "u.yaml"); err != nil {
		t.Errorf("UTF-16: %v", err)
	}
	// A regular file over the size is refused by its size, unread.
	sparse := filepath.Join(t.TempDir(), "sparse.yaml")
	f, err := os.Create(sparse)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(MaxFileSize + 1)
	f.Close()
	if _, err := ReadFile(sparse); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("a file over the size: %v", err)
	}
}
