package pipeline

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// Params and matrices cannot make more than MaxExpandedBytes of input, and the bytes are
// counted as they are made: each of these files made gigabytes before the bound (issue
// 21, item 3) and is refused with one error at the value that ran out.
func TestExpansionBound(t *testing.T) {
	values := make([]string, 1000)
	for i := range values {
		values[i] = strconv.Itoa(i)
	}
	list := "[" + strings.Join(values, ", ") + "]"
	for name, tt := range map[string]struct {
		file string
		line int
		step string
	}{
		// a 1 MiB param written 20,000 times in one string: 20 GB
		"param in a string": {
			file: "params:\n  big: " + strings.Repeat("x", 1<<20) + "\nsteps:\n  - id: s\n    action: shell.run\n    input:\n      script: \"" + strings.Repeat("${params.big}", 20_000) + "\"\n",
			line: 7, step: "s",
		},
		// the same as 20,000 whole references: the values are shared, but it is 20 GB to send
		"param as whole values": {
			file: "params:\n  big: " + strings.Repeat("x", 1<<20) + "\nsteps:\n  - id: s\n    action: shell.run\n    input:\n      command:\n" + strings.Repeat("        - ${params.big}\n", 20_000),
			line: 8, step: "s",
		},
		// a 10 MiB template in a 1,000-value matrix: 10 GB
		"matrix of a big template": {
			file: "steps:\n  - id: s\n    action: shell.run\n    matrix:\n      n: " + list + "\n    input:\n      script: \"" + strings.Repeat("y", 10<<20) + "${matrix.n}\"\n",
			line: 7, step: "s",
		},
		// 10 KB x 1,000 references x 1,000 values: 10 GB, made as the expansions are checked
		"params in every expansion": {
			file: "params:\n  p: " + strings.Repeat("z", 10_000) + "\nsteps:\n  - id: s\n    action: shell.run\n    matrix:\n      n: " + list + "\n    input:\n      script: \"${matrix.n}" + strings.Repeat("${params.p}", 1000) + "\"\n",
			line: 9, step: "s",
		},
		// a big matrix value written many times in each expansion
		"matrix value in a string": {
			file: "steps:\n  - id: s\n    action: shell.run\n    matrix:\n      n: [" + strings.Repeat("w", 1<<20) + ", v]\n    input:\n      script: \"" + strings.Repeat("${matrix.n}", 100) + "\"\n",
			line: 7, step: "s",
		},
	} {
		t.Run(name, func(t *testing.T) {
			p, _, ds, err := Load("big.yaml", Options{Mode: Local, Data: []byte(tt.file)})
			if err != nil {
				t.Fatal(err)
			}
			var errs []Diagnostic
			for _, d := range ds {
				if d.Severity == Error {
					errs = append(errs, d)
				}
			}
			if p != nil || len(errs) != 1 || errs[0].Code != CodeExpansionTooBig || errs[0].Pos.Line != tt.line || errs[0].Step != tt.step {
				t.Fatalf("pipeline %v, errors %v, want one %s at line %d", p != nil, errs, CodeExpansionTooBig, tt.line)
			}
			if want := fmt.Sprintf("past %d MiB", MaxExpandedBytes>>20); !strings.Contains(errs[0].Message, want) {
				t.Errorf("%q does not say %q", errs[0].Message, want)
			}
		})
	}
}

// Below the bound, big expansions are made as before: 1,000 expansions of a 30 KB input
// with a 10 KB param in each.
func TestExpansionWithinBound(t *testing.T) {
	values := make([]string, 1000)
	for i := range values {
		values[i] = strconv.Itoa(i)
	}
	file := "params:\n  p: " + strings.Repeat("z", 10_000) + "\nsteps:\n  - id: s\n    action: shell.run\n    matrix:\n      n: [" + strings.Join(values, ", ") + "]\n    input:\n      script: \"${matrix.n} ${params.p}\"\n      env: {PAD: " + strings.Repeat("p", 20_000) + "}\n"
	p, _, ds, err := Load("ok.yaml", Options{Mode: Local, Data: []byte(file)})
	if err != nil || p == nil || ds.HasErrors() || len(p.Steps) != 1000 {
		t.Fatalf("err %v, diagnostics %v", err, ds)
	}
	if got := p.Steps[999].Input["script"]; got != "999 "+strings.Repeat("z", 10_000) {
		t.Fatalf("script %.40q", got)
	}
}
