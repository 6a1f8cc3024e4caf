package safe

import (
	"bytes"
	"testing"
)

func TestCommandGuard(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain\nlines\n", "plain\nlines\n"},
		{"::add-mask::x\n", `\::add-mask::x` + "\n"},
		{"ok\n  ::error::x\n", "ok\n  \\::error::x\n"},
		{"ok\r::debug::x", "ok\r\\::debug::x"},
		{"\t\v\f::x", "\t\v\f\\::x"},
		{"\u3000\u00a0::set-output name=a::b", "\u3000\u00a0\\::set-output name=a::b"},
		{":single colon", `\:single colon`},
		{"a::b::c\nx ::y", "a::b::c\nx ::y"},
		{"é::x\n", "é::x\n"},
		{"\xff::x", "\xff::x"},
		{"", ""},
	}
	for _, tt := range tests {
		// Written whole, and split at every byte: a line start is followed across writes.
		for split := 0; split <= len(tt.in); split++ {
			var b bytes.Buffer
			g := &CommandGuard{W: &b, On: true}
			for _, part := range []string{tt.in[:split], tt.in[split:]} {
				if n, err := g.Write([]byte(part)); err != nil || n != len(part) {
					t.Fatalf("Write(%q) = %d, %v", part, n, err)
				}
			}
			if b.String() != tt.want {
				t.Errorf("%q split at %d: got %q, want %q", tt.in, split, b.String(), tt.want)
			}
		}
	}
}

// pi's own commands pass, and the guard knows a line starts after them; off, it only
// follows lines.
func TestCommandGuardOwnCommands(t *testing.T) {
	var b bytes.Buffer
	g := &CommandGuard{W: &b, On: true}
	g.Write([]byte("text"))
	g.WriteCommand([]byte("\n::group::pi run x\n"))
	g.Write([]byte("::forged\n"))
	g.On = false
	g.Write([]byte("::not guarded\n"))
	if want := "text\n::group::pi run x\n\\::forged\n::not guarded\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

func BenchmarkCommandGuard(b *testing.B) {
	line := bytes.Repeat([]byte("2026-11-28T13:00:00Z step localize-fr campaigns.localize_ad completed\n"), 100)
	g := &CommandGuard{W: &bytes.Buffer{}, On: true}
	b.SetBytes(int64(len(line)))
	for b.Loop() {
		g.W.(*bytes.Buffer).Reset()
		g.Write(line)
	}
}
