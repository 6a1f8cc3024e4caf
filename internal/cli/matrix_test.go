package cli

import (
	"strings"
	"testing"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

func TestResumeDrift(t *testing.T) {
	p, ds := pipeline.Parse("p.yaml", []byte(`params: { markets: [fr, de] }
steps:
  - id: fetch
    action: shell.run
    matrix: { market: "${params.markets}" }
    input: { command: [echo, "${matrix.market}"] }
`))
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	prior := &run.Run{ID: "r1", Steps: []run.Step{{ID: "fetch-fr"}, {ID: "fetch-de"}}}
	same, err := p.WithParams(map[string]string{"markets": "[fr, de]"})
	if err != nil {
		t.Fatal(err)
	}
	if w := resumeDrift(prior, same); w != "" {
		t.Errorf("same expansion: %q", w)
	}
	other, err := p.WithParams(map[string]string{"markets": "[fr, jp]"})
	if err != nil {
		t.Fatal(err)
	}
	if w := resumeDrift(prior, other); !strings.Contains(w, "run r1 recorded steps its pipeline no longer has (fetch-de)") {
		t.Errorf("drift: %q", w)
	}
}
