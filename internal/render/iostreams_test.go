package render

import (
	"fmt"
	"strings"
	"sync"
	"testing"
)

// --debug traces (ErrLog, from request goroutines) and progress lines (ErrOut, from the
// engine's observer) reach one stream at once: every line arrives whole (and -race sees
// no unsynchronised write).
func TestErrOutWritesFromManyGoroutines(t *testing.T) {
	ios, _, _, errOut := Test()
	var wg sync.WaitGroup
	const n = 200
	for g, w := range map[string]func(string){
		"debug":    func(s string) { fmt.Fprint(ios.ErrLog(), s) },
		"progress": func(s string) { fmt.Fprint(ios.ErrOut, s) },
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range n {
				w(fmt.Sprintf("%s line %03d %s\n", g, i, strings.Repeat(g[:1], 40)))
			}
		}()
	}
	wg.Wait()
	lines := strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")
	if len(lines) != 2*n {
		t.Fatalf("%d lines, want %d", len(lines), 2*n)
	}
	for _, l := range lines {
		g, _, _ := strings.Cut(l, " ")
		if g != "debug" && g != "progress" || !strings.HasSuffix(l, strings.Repeat(g[:1], 40)) {
			t.Fatalf("a line cut into another: %q", l)
		}
	}
}

// The parts of a batch (its rows) write on one stderr at once: every line says whose it
// is, also when a part writes several lines at once or a line in pieces (which are not
// held back: a piece may end up beside another part's line, never lost), and a
// workflow command goes out as it is, not prefixed (so GitHub still reads it) and not
// neutralised by the guard.
func TestPartPrefixesItsLines(t *testing.T) {
	ios, _, _, errOut := Test()
	ios.getenv = func(k string) string {
		if k == "GITHUB_ACTIONS" {
			return "true"
		}
		return ""
	}
	a, b := ios.Part("row 1: "), ios.Part("row 2: ")
	fmt.Fprint(a.ErrOut, "warning: half")
	fmt.Fprint(b.ErrOut, "one\ntwo\n")
	fmt.Fprint(a.ErrOut, " and the rest\n::add-mask::x\n")
	if err := b.WorkflowCommand("::error title=t::m\n"); err != nil {
		t.Fatal(err)
	}
	want := "row 1: warning: half" + "row 2: one\nrow 2: two\n" + " and the rest\nrow 1: ::add-mask::x\n" + "::error title=t::m\n"
	if got := errOut.String(); got != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", got, want)
	}
}
