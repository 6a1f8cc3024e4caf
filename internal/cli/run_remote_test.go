package cli

import (
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/piapi"
	"github.com/pi-cli/pi/internal/pipeline"
)

// A remote run's record keeps the moment it was created to the millisecond, as local runs
// and runs whose every step was reused do, so that pi runs list (newest first) orders runs
// created within one second: cut to whole seconds, a remote run created at 40.9 s was
// listed after a fully reused one recorded at 40.057 s (a flake of paying.txtar).
func TestCreatedRunKeepsSubsecondTime(t *testing.T) {
	before := time.Now()
	r := createdRun(&pipeline.Pipeline{}, &piapi.CreatedRun{RunID: "1b4e28ba-2fa1-41d2-883f-0016d3cca427"})
	if r.CreatedAt.Before(before) || r.CreatedAt.After(time.Now()) {
		t.Errorf("CreatedAt %s, want a time between %s and now", r.CreatedAt.Format(time.RFC3339Nano), before.Format(time.RFC3339Nano))
	}
}
