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
