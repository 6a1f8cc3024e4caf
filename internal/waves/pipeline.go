package waves

import (
	"maps"
	"slices"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/reuse"
)

// Together is Cut's together of pipeline p: a step must be in the server run of each step
// whose result it maps in a way no literal can carry (reuse.Passable: the whole result).
func Together(p *pipeline.Pipeline) func(i int) ([]int, string) {
	g := p.Graph()
	return func(i int) ([]int, string) {
		st := &p.Steps[i]
		var with []int
		why := ""
		for _, key := range slices.Sorted(maps.Keys(st.InputMap)) {
			ref, ok := pipeline.ParseRef(st.InputMap[key])
			if !ok {
				continue
			}
			j, known := g.Index(ref.Step)
			if w := reuse.Passable(st, key, ref); w != "" && known {
				with = append(with, j)
				if why == "" {
					why = w
				}
			}
		}
		return with, why
	}
}

// CutPipeline cuts p's steps into waves of at most pipeline.MaxRemoteSteps.
func CutPipeline(p *pipeline.Pipeline) (*Plan, error) {
	return Cut(p.Graph(), pipeline.MaxRemoteSteps, Together(p))
}
