//go:build unix

package reaper

import (
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// The reaper's bookkeeping of pi's lines.
func TestApplyLine(t *testing.T) {
	live := map[string]int{}
	for _, l := range []string{"+a", "+b", "=a 123", "=b x", "=b 1", "-c", "", "+", "=a"} {
		applyLine(live, []byte(l))
	}
	if len(live) != 2 || live["a"] != 123 || live["b"] != 0 {
		t.Fatalf("live = %v", live)
	}
	applyLine(live, []byte("-a"))
	if _, ok := live["a"]; ok || len(live) != 1 {
		t.Fatalf("live = %v after -a", live)
	}
}

// readLines gives every line, also one split across reads and a last one without its
// newline, and drops a line longer than its buffer.
func TestReadLines(t *testing.T) {
	in := "+a\n=a 12\n\n-a\n+b"
	var got []string
	readLines(iotest.OneByteReader(strings.NewReader(in)), func(l []byte) { got = append(got, string(l)) })
	if want := []string{"+a", "=a 12", "", "-a", "+b"}; !slices.Equal(got, want) {
		t.Fatalf("lines %q, want %q", got, want)
	}
	got = nil
	long := strings.Repeat("x", 300<<10)
	readLines(strings.NewReader("+c\n"+long+"\n-c\n"), func(l []byte) { got = append(got, string(l)) })
	if len(got) < 2 || got[0] != "+c" || got[len(got)-1] != "-c" {
		t.Fatalf("around a line longer than the buffer: %d lines, first %.10q, last %.10q", len(got), got[0], got[len(got)-1])
	}
}
