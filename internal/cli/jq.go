package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strings"
	"sync"
	"time"

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
//
// A filter is a program, and may never end (repeat(.), range(1e9)): it runs under the
// command's context (Ctrl-C, SIGTERM) and its --timeout, its results are written as they
// come, and what it prints is capped at jqMaxOutput.
type jqFilter struct {
	code    *gojq.Code
	pw      *io.PipeWriter
	done    chan error
	stop    context.CancelFunc
	timeout time.Duration // the command's --timeout, to name it when it passes
	max     int64         // bytes the filter may print
}

// jqMaxOutput is what --jq prints at most: 256 MiB, far more than the JSON of a
// 100,000-step run, and an end to a filter that generates without end.
const jqMaxOutput = 256 << 20

// jqFlushDelay is how long a result may wait in the output buffer before it is written.
const jqFlushDelay = 20 * time.Millisecond

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
// through the filter until finishJQ. The filter runs under ctx (the command's signals)
// and the command's --timeout, counted from now.
func (f *Factory) startJQ(ctx context.Context, cmd *cobra.Command, expr string) error {
	if cmd.Annotations[jsonAnnotation] == "" {
		out := cmd.Flags().Lookup("output")
		if out == nil {
			return UsageErrorf("--jq: %s prints no JSON", cmd.CommandPath())
		}
		jsonl := slices.Contains(outputFormats(cmd), "jsonl")
		v := strings.ToLower(strings.TrimSpace(out.Value.String()))
		switch {
		case v == "json", v == "jsonl" && jsonl:
		case jsonl:
			return UsageErrorf("--jq filters JSON: add -o json (or -o jsonl, the filter then runs on each line) to %s", cmd.CommandPath())
		default:
			return UsageErrorf("--jq filters JSON: add -o json to %s", cmd.CommandPath())
		}
	}
	code, err := compileJQ(expr)
	if err != nil {
		return err
	}
	j := &jqFilter{code: code, done: make(chan error, 1), max: f.jqMaxOutput}
	if j.max <= 0 {
		j.max = jqMaxOutput
	}
	if fl := cmd.Flags().Lookup("timeout"); fl != nil && fl.Changed {
		if d, err := time.ParseDuration(fl.Value.String()); err == nil && d > 0 {
			j.timeout = d
			ctx, j.stop = context.WithTimeout(ctx, d)
		}
	}
	if j.stop == nil {
		ctx, j.stop = context.WithCancel(ctx)
	}
	pr, pw := io.Pipe()
	j.pw = pw
	dst := f.IO.Out
	f.IO.Out = pw
	go func() {
		err := j.filter(ctx, pr, dst)
		// Keep reading, so the command is never blocked on a stdout nobody reads.
		_, _ = io.Copy(io.Discard, pr)
		j.done <- err
	}()
	f.jq = j
	return nil
}

// finishJQ ends the filtering once the command returned with cmdErr, and says how pi
// ends: the rest of its stdout is filtered first. A filter stopped by Ctrl-C or SIGTERM
// ends pi with 130 and one stopped by --timeout with 5, as the command would have; a
// filter that failed (a runtime error, the output cap) is reported on stderr and the
// command's own outcome stands: a completed run stays exit 0, a failed one 1.
func (f *Factory) finishJQ(cmdErr error) error {
	if f.jq == nil {
		return cmdErr
	}
	j := f.jq
	f.jq = nil
	j.pw.Close()
	err := <-j.done
	j.stop()
	switch {
	case err == nil:
		return cmdErr
	case errors.Is(err, context.DeadlineExceeded):
		if code := exitCode(cmdErr); code == ExitInterrupted || code == ExitTimeout {
			return cmdErr
		}
		return &ExitError{Code: ExitTimeout, Err: fmt.Errorf("--timeout %s passed while --jq was filtering: the output is incomplete", j.timeout)}
	case errors.Is(err, context.Canceled):
		if code := exitCode(cmdErr); code == ExitInterrupted || code == ExitTimeout {
			return cmdErr
		}
		return &ExitError{Code: ExitInterrupted, Err: errors.New("interrupted while --jq was filtering: the output is incomplete")}
	}
	printError(f.IO.ErrOut, err)
	return cmdErr
}

// filter decodes JSON values from r and writes the expression's results for each to w,
// as they are produced.
func (j *jqFilter) filter(ctx context.Context, r io.Reader, w io.Writer) error {
	out := newFlushingWriter(w, jqFlushDelay)
	defer out.Close()
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var line []byte
	for {
		var v any
		if err := dec.Decode(&v); err == io.EOF {
			return out.Flush()
		} else if err != nil {
			return fmt.Errorf("--jq: the output is not JSON: %v", err)
		}
		iter := j.code.RunWithContext(ctx, jqValue(v))
		for {
			res, ok := iter.Next()
			if !ok {
				break
			}
			if err, isErr := res.(error); isErr {
				var halt *gojq.HaltError
				if errors.As(err, &halt) && halt.Value() == nil {
					break // halt: stop, successfully
				}
				if ctx.Err() != nil {
					return ctx.Err() // the run's own deadline or a signal, not the filter's fault
				}
				return fmt.Errorf("--jq: %v", err)
			}
			if line, ok = jqLine(line[:0], res); !ok {
				return fmt.Errorf("--jq: %v cannot be printed as JSON", res)
			}
			if out.Written()+int64(len(line)) > j.max {
				return fmt.Errorf("--jq: output stopped at %s, the most a filter prints", byteSize(j.max))
			}
			if _, err := out.Write(line); err != nil {
				return fmt.Errorf("write output: %w", err)
			}
		}
		if err := out.Flush(); err != nil {
			return fmt.Errorf("write output: %w", err)
		}
	}
}

// byteSize is n bytes as a person reads it: 256 MiB, 1000 bytes.
func byteSize(n int64) string {
	if n >= 1<<20 && n%(1<<20) == 0 {
		return fmt.Sprintf("%d MiB", n>>20)
	}
	return fmt.Sprintf("%d bytes", n)
}

// jqLine appends one result as pi prints it: a string raw (controls escaped), anything
// else as compact JSON, then a newline.
func jqLine(b []byte, res any) ([]byte, bool) {
	if s, isStr := res.(string); isStr {
		b = append(b, escapeControls(s)...)
	} else {
		m, err := gojq.Marshal(res)
		if err != nil {
			return b, false
		}
		b = append(b, m...)
	}
	return append(b, '\n'), true
}

// flushingWriter buffers writes and writes them out at most delay after they were made
// (or on Flush), so results are seen as they come without one write per line.
type flushingWriter struct {
	mu      sync.Mutex
	buf     *bufio.Writer
	delay   time.Duration
	timer   *time.Timer
	pending bool
	written int64
	err     error
}

func newFlushingWriter(w io.Writer, delay time.Duration) *flushingWriter {
	return &flushingWriter{buf: bufio.NewWriterSize(w, 32<<10), delay: delay}
}

func (fw *flushingWriter) Write(p []byte) (int, error) {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.err != nil {
		return 0, fw.err
	}
	n, err := fw.buf.Write(p)
	fw.written += int64(n)
	fw.err = err
	if err == nil && fw.buf.Buffered() > 0 && !fw.pending {
		fw.pending = true
		if fw.timer == nil {
			fw.timer = time.AfterFunc(fw.delay, fw.timedFlush)
		} else {
			fw.timer.Reset(fw.delay)
		}
	}
	return n, err
}

func (fw *flushingWriter) timedFlush() {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	fw.pending = false
	if fw.err == nil {
		fw.err = fw.buf.Flush()
	}
}

// Written is the number of bytes written so far.
func (fw *flushingWriter) Written() int64 {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	return fw.written
}

// Flush writes out what is buffered.
func (fw *flushingWriter) Flush() error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.err == nil {
		fw.err = fw.buf.Flush()
	}
	return fw.err
}

// Close flushes and stops the timer.
func (fw *flushingWriter) Close() {
	fw.Flush()
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.timer != nil {
		fw.timer.Stop()
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
