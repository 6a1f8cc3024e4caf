// Package render draws runs for people and programs: the live table, plain lines, JSON and
// JSONL. It owns terminal I/O: TTY detection, the colour decision and the terminal width.
package render

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mattn/go-isatty"
	"golang.org/x/term"

	"github.com/pi-cli/pi/internal/safe"
)

// IOStreams is the one owner of stdin, stdout and stderr. Nothing else looks at os.Stdout
// or asks whether a file is a terminal.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY  bool
	stdoutTTY bool
	stderrTTY bool
	color     bool
	errColor  bool // colour on stderr (diagnostics), decided by stderr's own TTY state
	// width and height are forced sizes (tests); 0 asks the terminal on sizeFd each time,
	// so a resized window is followed.
	width, height int
	sizeFd        int // a terminal's file descriptor, or -1
	getenv        func(string) string

	// above, while a live block is drawn on stderr, prints whole lines above it (ErrLog).
	aboveMu sync.Mutex
	above   func(text string)
	partial []byte
	// cursorHidden: a live table hid the cursor (RestoreTerminal shows it)
	cursorHidden atomic.Bool
}

// ErrLog is a writer for lines meant for stderr that may come while a live table is drawn
// (--debug traces): they are printed above the table and stay, instead of being drawn
// over. Without a live table they go to ErrOut as they come.
func (s *IOStreams) ErrLog() io.Writer { return errLog{s} }

type errLog struct{ s *IOStreams }

func (w errLog) Write(b []byte) (int, error) {
	s := w.s
	s.aboveMu.Lock()
	above := s.above
	if above == nil {
		s.aboveMu.Unlock()
		return s.ErrOut.Write(b)
	}
	s.partial = append(s.partial, b...)
	var text string
	if i := bytes.LastIndexByte(s.partial, '\n'); i >= 0 {
		text = string(s.partial[:i+1])
		s.partial = append(s.partial[:0], s.partial[i+1:]...)
	}
	s.aboveMu.Unlock()
	// outside aboveMu: the live table takes its own lock, and holds it while it calls
	// setAbove
	if text != "" {
		above(text)
	}
	return len(b), nil
}

// RestoreTerminal shows the cursor again if a live table hid it and did not end (a panic,
// an exit path that forgot Stop). It is harmless to call at any time.
func (s *IOStreams) RestoreTerminal() {
	if s.cursorHidden.Swap(false) {
		_, _ = io.WriteString(s.ErrOut, showCursor)
	}
}

// setCursorHidden records whether a live table has hidden the cursor.
func (s *IOStreams) setCursorHidden(hidden bool) { s.cursorHidden.Store(hidden) }

// setAbove routes ErrLog to a live block (nil: back to ErrOut, with any partial line).
func (s *IOStreams) setAbove(f func(text string)) {
	s.aboveMu.Lock()
	defer s.aboveMu.Unlock()
	if f == nil && len(s.partial) > 0 {
		_, _ = s.ErrOut.Write(s.partial)
		s.partial = nil
	}
	s.above = f
}

// System returns the streams of this process, deciding TTY and colour from the files and
// the environment (NO_COLOR, CLICOLOR, CLICOLOR_FORCE, TERM=dumb).
func System() *IOStreams {
	s := &IOStreams{
		In: os.Stdin, stdinTTY: isTerminal(os.Stdin), stdoutTTY: isTerminal(os.Stdout), stderrTTY: isTerminal(os.Stderr),
		getenv: os.Getenv,
	}
	s.Out, s.ErrOut = newLockedWriter(os.Stdout, s.inGitHubActions), newLockedWriter(os.Stderr, s.inGitHubActions)
	s.color = colorFromEnv(s.getenv, s.stdoutTTY)
	s.errColor = colorFromEnv(s.getenv, s.stderrTTY)
	s.sizeFd = -1
	switch {
	case s.stderrTTY: // the live table is drawn on stderr
		s.sizeFd = int(os.Stderr.Fd())
	case s.stdoutTTY:
		s.sizeFd = int(os.Stdout.Fd())
	}
	return s
}

// Test returns streams over buffers, not terminals, without colour, 80 columns wide: for
// the tests of every package that writes to IOStreams.
func Test() (s *IOStreams, in, out, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	s = &IOStreams{In: in, width: 80, sizeFd: -1, getenv: func(string) string { return "" }}
	s.Out, s.ErrOut = newLockedWriter(out, s.inGitHubActions), newLockedWriter(errOut, s.inGitHubActions)
	return s, in, out, errOut
}

// Part returns the streams of one of several runs shown together (the rows of a batch):
// no input, stdout discarded (the runs are summed up as a whole), stderr and the
// environment shared with s (warnings, GitHub annotations, the job summary), no terminal.
// Each line the part writes on stderr starts with name ("row 3: "), so that lines of
// parts running at once say whose they are; workflow commands go out as they are.
func (s *IOStreams) Part(name string) *IOStreams {
	p := &IOStreams{In: bytes.NewReader(nil), ErrOut: &prefixWriter{w: s.ErrOut, prefix: []byte(name), atStart: true},
		width: s.width, sizeFd: -1, getenv: s.getenv}
	p.Out = newLockedWriter(io.Discard, p.inGitHubActions)
	return p
}

// prefixWriter starts every line written through it with prefix, each Write going to w
// as one Write (w is a lockedWriter: lines of several parts do not cut into each other).
type prefixWriter struct {
	w       io.Writer
	prefix  []byte
	mu      sync.Mutex
	atStart bool
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]byte, 0, len(b)+len(p.prefix)*(1+bytes.Count(b, []byte{'\n'})))
	for rest := b; len(rest) > 0; {
		if p.atStart {
			out = append(out, p.prefix...)
		}
		line := rest
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			line = rest[:i+1]
		}
		out = append(out, line...)
		rest = rest[len(line):]
		p.atStart = line[len(line)-1] == '\n'
	}
	if _, err := p.w.Write(out); err != nil {
		return 0, err
	}
	return len(b), nil
}

func (p *prefixWriter) writeCommand(b []byte) (int, error) {
	if cw, ok := p.w.(commandWriter); ok {
		return cw.writeCommand(b)
	}
	return p.w.Write(b)
}

// commandWriter is a stream that can write workflow commands past its guard.
type commandWriter interface {
	writeCommand(p []byte) (int, error)
}

// lockedWriter serialises the writes of several goroutines to one stream: progress lines
// come from the engine's observer while --debug traces come from request goroutines, and
// neither may cut into the other's line. Under GitHub Actions (guard says so) no line it
// writes may start a workflow command: whatever a server or a file said, in a table row,
// a plain line, an error or a --jq string, cannot mask, stop or forge anything (pi's own
// commands go through writeCommand). String reads a buffer underneath (tests).
type lockedWriter struct {
	mu    sync.Mutex
	w     io.Writer
	g     safe.CommandGuard
	guard func() bool
}

func newLockedWriter(w io.Writer, guard func() bool) *lockedWriter {
	return &lockedWriter{w: w, g: safe.CommandGuard{W: w}, guard: guard}
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.g.On = l.guard != nil && l.guard()
	return l.g.Write(p)
}

// writeCommand writes workflow command lines as they are.
func (l *lockedWriter) writeCommand(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.g.WriteCommand(p)
}

// WorkflowCommand writes GitHub Actions workflow command lines (::group::, ::error) on
// stderr: the one way past the guard that keeps every other line from starting one.
func (s *IOStreams) WorkflowCommand(lines string) error {
	var err error
	if lw, ok := s.ErrOut.(commandWriter); ok {
		_, err = lw.writeCommand([]byte(lines))
	} else {
		_, err = io.WriteString(s.ErrOut, lines)
	}
	return err
}

// inGitHubActions reports whether pi runs as a step of GitHub Actions, where lines of
// output can be workflow commands.
func (s *IOStreams) inGitHubActions() bool { return s.getenv("GITHUB_ACTIONS") == "true" }

// InGitHubActions reports whether pi runs as a step of GitHub Actions: the progress
// annotates failed steps (and asks Options.Locate where they are written).
func (s *IOStreams) InGitHubActions() bool { return s.inGitHubActions() }

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s, ok := l.w.(interface{ String() string }); ok {
		return s.String()
	}
	return ""
}

func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// colorFromEnv applies the conventions: NO_COLOR (any value) and CLICOLOR=0 and TERM=dumb
// turn colour off, CLICOLOR_FORCE (not "0") turns it on even when not a terminal.
func colorFromEnv(getenv func(string) string, tty bool) bool {
	if v := getenv("CLICOLOR_FORCE"); v != "" && v != "0" {
		return true
	}
	if getenv("NO_COLOR") != "" || getenv("CLICOLOR") == "0" || getenv("TERM") == "dumb" {
		return false
	}
	return tty
}

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// SetTTY forces the TTY state of both stdout and stderr (tests).
func (s *IOStreams) SetTTY(tty bool) { s.stdoutTTY, s.stderrTTY = tty, tty }

// SetStdinTTY forces the TTY state of stdin (tests).
func (s *IOStreams) SetStdinTTY(tty bool) { s.stdinTTY = tty }

// CanPrompt reports whether a person can be asked a question: stdin and stderr are
// terminals.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY && s.stderrTTY }

// Confirm asks a yes/no question on stderr and reads the answer from stdin: true only for
// y or yes. No answer (end of input) is no; ctx ending stops the wait with its error. The
// caller checks CanPrompt first.
func (s *IOStreams) Confirm(ctx context.Context, question string) (bool, error) {
	fmt.Fprintf(s.ErrOut, "%s [y/N] ", question)
	answer := make(chan string, 1)
	go func() {
		var line []byte
		b := make([]byte, 1)
		for len(line) < 64 {
			n, err := s.In.Read(b)
			if n == 1 && b[0] == '\n' {
				break
			}
			line = append(line, b[:n]...)
			if err != nil || n == 0 {
				break
			}
		}
		answer <- strings.ToLower(strings.TrimSpace(string(line)))
	}()
	select {
	case a := <-answer:
		return a == "y" || a == "yes", nil
	case <-ctx.Done():
		fmt.Fprintln(s.ErrOut)
		return false, ctx.Err()
	}
}

// Interactive reports whether live redraws and spinners may be used: only when both stdout
// and stderr are terminals and TERM is not dumb.
func (s *IOStreams) Interactive() bool {
	return s.stdoutTTY && s.stderrTTY && s.getenv("TERM") != "dumb"
}

// ColorEnabled reports whether output may carry ANSI colour.
func (s *IOStreams) ColorEnabled() bool { return s.color }

// SetColorEnabled overrides the colour decision, of stdout and stderr (--no-color, tests).
func (s *IOStreams) SetColorEnabled(on bool) { s.color, s.errColor = on, on }

// ErrColorEnabled reports whether what is written on stderr may carry colour: it depends
// on stderr being a terminal, whatever stdout is (pi validate -o json > out.json).
func (s *IOStreams) ErrColorEnabled() bool { return s.errColor }

// Width is the width in columns to draw for: the terminal's now (it may have been
// resized), else COLUMNS, else 0, meaning no limit (a pipe or a file: nothing wraps there,
// so nothing is cut).
func (s *IOStreams) Width() int {
	if s.width > 0 {
		return s.width
	}
	if s.sizeFd >= 0 {
		if w, _, err := term.GetSize(s.sizeFd); err == nil && w > 0 {
			return w
		}
	}
	if n, err := strconv.Atoi(s.getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 0
}

// StdoutWidth is the width to cut what is written on stdout to: the terminal's when stdout
// is one, else 0 (no limit): a pipe or a file gets every cell in full.
func (s *IOStreams) StdoutWidth() int {
	if !s.stdoutTTY {
		return 0
	}
	return s.Width()
}

// Height is the terminal's height in lines now, or 0 when unknown (no limit).
func (s *IOStreams) Height() int {
	if s.height > 0 {
		return s.height
	}
	if s.sizeFd >= 0 {
		if _, h, err := term.GetSize(s.sizeFd); err == nil && h > 0 {
			return h
		}
	}
	return 0
}

// SetWidth forces the width (tests).
func (s *IOStreams) SetWidth(w int) { s.width = w }

// SetHeight forces the height (tests).
func (s *IOStreams) SetHeight(h int) { s.height = h }

// Getenv reads the environment the streams were built with (tests give their own).
func (s *IOStreams) Getenv(key string) string { return s.getenv(key) }

// SetGetenv replaces the environment lookup (tests).
func (s *IOStreams) SetGetenv(f func(string) string) { s.getenv = f }
