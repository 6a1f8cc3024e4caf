package cli

import (
	"fmt"

	"github.com/pi-cli/pi/internal/pipeline"
)

// stepsText counts the steps a file runs as: "5 steps after expanding 1 matrix".
func stepsText(p *pipeline.Pipeline, params map[string]string) string {
	x, _ := p.Expand(params)
	return plural(len(x.Steps), "step") + matricesSuffix(x)
}

// matricesSuffix is " after expanding 2 matrices" for an expanded pipeline, else "".
func matricesSuffix(x *pipeline.Pipeline) string {
	switch n := len(x.Expanded()); n {
	case 0:
		return ""
	case 1:
		return " after expanding 1 matrix"
	default:
		return fmt.Sprintf(" after expanding %d matrices", n)
	}
}
