package cli

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/render"
)

// pi serve: exit 2 for bad flags (an invalid port too), 4 for a port it cannot bind.
func TestServeExitCodes(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tt := range []struct {
		args []string
		want int
		say  string
	}{
		{[]string{"serve", "--addr", taken.Addr().String(), "--db", ":memory:"}, ExitAPI, "listen on"},
		{[]string{"serve", "--addr", "127.0.0.1:99999", "--db", ":memory:"}, ExitUsage, "from 0 to 65535"},
		{[]string{"serve", "--addr", "127.0.0.1:http", "--db", ":memory:"}, ExitUsage, "is not a number"},
		{[]string{"serve", "--latency", "soon"}, ExitUsage, "invalid argument"},
		{[]string{"serve", "--no-such-flag"}, ExitUsage, "unknown flag"},
	} {
		ios, _, _, errOut := render.Test()
		f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
		if code := runWithin(t, 20*time.Second, f, tt.args...); code != tt.want || !strings.Contains(errOut.String(), tt.say) {
			t.Errorf("pi %v: exit %d (want %d):\n%s", tt.args, code, tt.want, errOut)
		}
	}
}
