package cli

import (
	"context"
	"time"

	"github.com/pi-cli/pi/internal/sandbox"
)

// sandboxLatency is how long a job of `pi run --sandbox` takes: long enough to watch the
// steps move, short enough not to wait.
const sandboxLatency = 300 * time.Millisecond

// startSandbox serves an in-process sandbox on a loopback port with a random key and an
// in-memory database, for `pi run --sandbox`; it stops when ctx is done or on Close.
func startSandbox(ctx context.Context) (*sandbox.Instance, error) {
	return sandbox.Start(ctx, sandbox.Options{Latency: sandboxLatency, DBPath: ":memory:"})
}
