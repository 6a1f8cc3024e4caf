package cli

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// Every "error:" line pi prints (Execute's last word, a --jq error, a download that failed
// after a run, pi validate's deadline) goes through printError: a server's control
// characters are escaped, a line cannot start a workflow command, a key is not shown.
func TestPrintErrorEscapesAndRedacts(t *testing.T) {
	var b bytes.Buffer
	printError(&b, errors.New("GET /files/a.png: \x1b[2Jserver said\n::add-mask::x sent Authorization: Bearer pi_live_0123456789abcdefghij"))
	got := b.String()
	if !strings.HasPrefix(got, "error: ") || strings.Contains(got, "\x1b") || strings.Contains(got, "\n::") || strings.Contains(got, "pi_live_0123456789abcdefghij") {
		t.Errorf("printError wrote %q", got)
	}
}
