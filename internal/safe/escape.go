package safe

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Text makes untrusted text safe to print on one line: every control character (C0,
// DEL, C1: ESC, BEL, CR, LF, TAB, the 8-bit CSI ...) and every byte that is not UTF-8 is
// written as a Go escape (\x1b, \n, \u009b, \xff), so a server or a file can neither move
// the cursor, ring the bell, recolour the terminal, nor start a line of its own (a forged
// "::warning::" in CI). Printable text, however exotic, is kept as it is.
func Text(s string) string {
	if clean(s, false) {
		return s
	}
	return escape(s, false)
}

// Lines is Text for text whose line breaks are meant (a multi-line message, a stack
// trace): LF is kept, everything else is escaped, and a line that would start a GitHub
// Actions workflow command ("::", after spaces) gets a backslash in front.
func Lines(s string) string {
	if clean(s, true) && !strings.Contains(s, "::") {
		return s
	}
	s = escape(s, true)
	if !strings.Contains(s, "::") {
		return s
	}
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		t := strings.TrimLeft(l, " ")
		if strings.HasPrefix(t, "::") {
			lines[i] = l[:len(l)-len(t)] + `\` + t
		}
	}
	return strings.Join(lines, "\n")
}

// HasControl reports whether s holds a control character or is not UTF-8 (ids with
// them are refused).
func HasControl(s string) bool { return !clean(s, false) }

func clean(s string, keepLF bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			if keepLF && c == '\n' {
				continue
			}
			return false
		}
		if c >= 0x80 {
			// Slow path only for non-ASCII: C1 controls and invalid UTF-8.
			r, n := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && n == 1 || r >= 0x80 && r <= 0x9f {
				return false
			}
			i += n - 1
		}
	}
	return true
}

func escape(s string, keepLF bool) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			b.WriteString(`\x` + strconv.FormatUint(uint64(s[i])>>4, 16) + strconv.FormatUint(uint64(s[i])&0xf, 16))
		case r == '\n' && keepLF:
			b.WriteByte('\n')
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
			q := strconv.QuoteRune(r) // '\x1b', '\n', '\u009b'
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// JSON escapes, in encoded JSON, the control characters encoding/json leaves raw (DEL and
// the C1 range, which some terminals obey): the document means the same, and printing it
// is harmless. b is returned as it is when there is nothing to escape.
func JSON(b []byte) []byte {
	dirty := false
	for i := 0; i < len(b); i++ {
		if b[i] == 0x7f || b[i] == 0xc2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] <= 0x9f {
			dirty = true
			break
		}
	}
	if !dirty {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	for i := 0; i < len(b); i++ {
		switch {
		case b[i] == 0x7f:
			out = append(out, `\u007f`...)
		case b[i] == 0xc2 && i+1 < len(b) && b[i+1] >= 0x80 && b[i+1] <= 0x9f:
			out = append(out, fmt.Sprintf(`\u%04x`, b[i+1])...)
			i++
		default:
			out = append(out, b[i])
		}
	}
	return out
}
