package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"

	"github.com/itchyny/gojq"
	"github.com/spf13/cobra"
)

// jsonAnnotation marks a command that always prints JSON (pi schema), so --jq applies
// without -o json.
const jsonAnnotation = "pi/json"

// jqFilter is --jq EXPR, as gh has it: while the command runs, its stdout goes through a
// JSON decoder and every value it prints (one for -o json, one per line for -o jsonl, as
// it happens) is run through the expression; a string result is printed raw, any other as
// compact JSON, one per line. Filtering stdout as a stream is the one place every command's
// JSON passes, however the command writes it.
type jqFilter struct {
	code *gojq.Code
	pw   *io.PipeWriter
	done chan error
}

// compileJQ parses and compiles a jq expression; the error is a usage error (exit 2).
func compileJQ(expr string) (*gojq.Code, error) {
	q, err := gojq.Parse(expr)
	if err != nil {
		return nil, UsageErrorf("--jq %q: %v", expr, err)
	}
	code, err := gojq.Compile(q)
	if err != nil {
		return nil, UsageErrorf("--jq %q: %v", expr, err)
	}
	return code, nil
}

// startJQ checks --jq against the command (it needs -o json or jsonl, or a command that
// only prints JSON), compiles it before the command sends anything, and routes stdout
// through the filter until finishJQ.
func (f *Factory) startJQ(cmd *cobra.Command) error {
	if cmd.Annotations[jsonAnnotation] == "" {
		out := cmd.Flags().Lookup("output")
		if out == nil {
			return UsageErrorf("--jq: %s prints no JSON", cmd.CommandPath())
		}
		if v := strings.ToLower(strings.TrimSpace(out.Value.String())); v != "json" && v != "jsonl" {
			return UsageErrorf("--jq filters JSON: add -o json (or -o jsonl) to %s", cmd.CommandPath())
		}
	}
	code, err := compileJQ(f.JQ)
	if err != nil {
		return err
	}
	pr, pw := io.Pipe()
	j := &jqFilter{code: code, pw: pw, done: make(chan error, 1)}
	dst := f.IO.Out
	f.IO.Out = pw
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	go func() {
		err := j.filter(ctx, pr, dst)
		if err != nil {
			// Keep reading, so the command is never blocked on a stdout nobody reads.
			_, _ = io.Copy(io.Discard, pr)
		}
		j.done <- err
	}()
	f.jq = j
	return nil
}

// finishJQ ends the filtering once the command returned: the rest of its stdout is
// filtered and the filter's error (bad JSON, a runtime error of the expression) returned.
func (f *Factory) finishJQ() error {
	if f.jq == nil {
		return nil
	}
	f.jq.pw.Close()
	err := <-f.jq.done
	f.jq = nil
	return err
}

// filter decodes JSON values from r and writes the expression's results for each to w.
func (j *jqFilter) filter(ctx context.Context, r io.Reader, w io.Writer) error {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			return nil
		} else if err != nil {
			return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--jq: the output is not JSON: %v", err)}
		}
		iter := j.code.RunWithContext(ctx, jqValue(v))
		var buf bytes.Buffer
		for {
			out, ok := iter.Next()
			if !ok {
				break
			}
			if err, isErr := out.(error); isErr {
				var halt *gojq.HaltError
				if errors.As(err, &halt) && halt.Value() == nil {
					break // halt: stop, successfully
				}
				if _, err := w.Write(buf.Bytes()); err != nil {
					return fmt.Errorf("write output: %w", err)
				}
				return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--jq: %v", err)}
			}
			if s, isStr := out.(string); isStr {
				buf.WriteString(escapeControls(s))
			} else {
				b, err := gojq.Marshal(out)
				if err != nil {
					return &ExitError{Code: ExitUsage, Err: fmt.Errorf("--jq: %v", err)}
				}
				buf.Write(b)
			}
			buf.WriteByte('\n')
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
}

// jqValue turns decoded JSON into gojq's value types: json.Number becomes int, *big.Int or
// float64, so large ids and timestamps keep every digit.
func jqValue(v any) any {
	switch v := v.(type) {
	case json.Number:
		if n, err := v.Int64(); err == nil && int64(int(n)) == n {
			return int(n)
		}
		if b, ok := new(big.Int).SetString(string(v), 10); ok {
			return b
		}
		f, _ := v.Float64()
		return f
	case []any:
		for i := range v {
			v[i] = jqValue(v[i])
		}
	case map[string]any:
		for k := range v {
			v[k] = jqValue(v[k])
		}
	}
	return v
}

// escapeControls writes the control characters of a raw string result (other than
// newline and tab) as \u escapes: what a server said never reaches the terminal raw.
// Not safe.Lines: that escapes tabs too, and `@tsv` results need theirs.
func escapeControls(s string) string {
	if !strings.ContainsFunc(s, isEscapedControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if isEscapedControl(r) {
			fmt.Fprintf(&b, "\\u%04x", r)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isEscapedControl(r rune) bool {
	return (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f)
}
