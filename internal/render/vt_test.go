package render

import (
	"strconv"
	"strings"
	"testing"
)

// vt is a small terminal emulator for the byte stream of the live table: printable text,
// \r, \n, cursor up (CSI n A), erase in line (CSI K, CSI 2K), erase in display (CSI J,
// counted: pi must not use it), the cursor and synchronized output modes, colours
// (ignored) and a scrollback (rows pushed off the top). A resize rewraps long rows as
// tmux and most terminals do.
type vt struct {
	t          testing.TB
	w, h       int
	rows       [][]rune
	x, y       int
	scrollback []string
	hidden     bool // cursor hidden (?25l)
	syncDepth  int
	erases     int // CSI J seen
}

func newVT(t testing.TB, w, h int) *vt {
	v := &vt{t: t, w: w, h: h}
	for range h {
		v.rows = append(v.rows, nil)
	}
	return v
}

func (v *vt) Write(b []byte) (int, error) {
	s := []rune(string(b))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r':
			v.x = 0
		case c == '\n': // the tty's ONLCR: a newline is also a carriage return
			v.x = 0
			v.newline()
		case c == 0x1b && i+1 < len(s) && s[i+1] == '[':
			j := i + 2
			for j < len(s) && (s[j] < 0x40 || s[j] > 0x7e) {
				j++
			}
			if j == len(s) {
				v.t.Fatalf("cut escape sequence %q", string(s[i:]))
			}
			v.csi(string(s[i+2:j]), s[j])
			i = j
		case c < 0x20:
			v.t.Fatalf("unexpected control character %q", c)
		default:
			if v.x >= v.w { // autowrap
				v.x = 0
				v.newline()
			}
			row := v.rows[v.y]
			for len(row) <= v.x {
				row = append(row, ' ')
			}
			row[v.x] = c
			v.rows[v.y] = row
			v.x++
		}
	}
	return len(b), nil
}

func (v *vt) newline() {
	if v.y == v.h-1 {
		v.scrollback = append(v.scrollback, string(v.rows[0]))
		v.rows = append(v.rows[1:], nil)
		return
	}
	v.y++
}

func (v *vt) csi(params string, final rune) {
	n := 1
	if p := strings.TrimPrefix(params, "?"); p != "" {
		if k, err := strconv.Atoi(p); err == nil {
			n = k
		}
	}
	switch {
	case final == 'A':
		v.y = max(v.y-n, 0)
	case final == 'K' && params == "":
		if v.x < len(v.rows[v.y]) {
			v.rows[v.y] = v.rows[v.y][:v.x]
		}
	case final == 'K' && params == "2":
		v.rows[v.y] = nil
	case final == 'J':
		v.erases++
		v.rows[v.y] = v.rows[v.y][:min(v.x, len(v.rows[v.y]))]
		for y := v.y + 1; y < v.h; y++ {
			v.rows[y] = nil
		}
	case final == 'm':
	case params == "?25" && final == 'l':
		v.hidden = true
	case params == "?25" && final == 'h':
		v.hidden = false
	case params == "?2026" && final == 'h':
		v.syncDepth++
	case params == "?2026" && final == 'l':
		v.syncDepth--
	default:
		v.t.Fatalf("unexpected escape sequence CSI %q %c", params, final)
	}
}

// resize changes the width, rewrapping the rows that no longer fit (the cursor follows
// its row), and pushing rows off the top when there are more than fit.
func (v *vt) resize(w int) {
	var rows [][]rune
	cy := 0
	for y, r := range v.rows {
		if y == v.y {
			cy = len(rows)
		}
		for len(r) > w {
			rows = append(rows, r[:w])
			r = r[w:]
		}
		rows = append(rows, r)
	}
	// drop trailing empty rows below the cursor first, then scroll
	for len(rows) > v.h && len(rows)-1 > cy && len(rows[len(rows)-1]) == 0 {
		rows = rows[:len(rows)-1]
	}
	for len(rows) > v.h {
		v.scrollback = append(v.scrollback, string(rows[0]))
		rows = rows[1:]
		cy--
	}
	for len(rows) < v.h {
		rows = append(rows, nil)
	}
	v.rows, v.w, v.y = rows, w, max(cy, 0)
	v.x = min(v.x, w)
}

// screen is the visible rows, trailing blanks removed.
func (v *vt) screen() []string {
	out := make([]string, 0, v.h)
	for _, r := range v.rows {
		out = append(out, strings.TrimRight(string(r), " "))
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return out
}

func (v *vt) String() string { return strings.Join(v.screen(), "\n") }
