package cli

import (
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

func TestResumeDrift(t *testing.T) {
	load := func(markets string) *pipeline.Pipeline {
		t.Helper()
		p, _, ds, err := pipeline.Load("p.yaml", pipeline.Options{Mode: pipeline.Local, Params: map[string]string{"markets": markets}, Data: []byte(`params: { markets: [fr, de] }
steps:
  - id: fetch
    action: shell.run
    matrix: { market: "${params.markets}" }
    input: { command: [echo, "${matrix.market}"] }
`)})
		if err != nil || p == nil {
			t.Fatal(err, ds)
		}
		return p
	}
	prior := &run.Run{ID: "r1", Steps: []run.Step{{ID: "fetch-fr"}, {ID: "fetch-de"}}}
	same := load("[fr, de]")
	if w := resumeDrift(prior, same); w != "" {
		t.Errorf("same expansion: %q", w)
	}
	other := load("[fr, jp]")
	if w := resumeDrift(prior, other); !strings.Contains(w, "run r1 recorded steps its pipeline no longer has (fetch-de)") {
		t.Errorf("drift: %q", w)
	}
}
