package cli

import (
	"fmt"
	"strings"

	"github.com/pi-cli/pi/internal/pipeline"
	"github.com/pi-cli/pi/internal/run"
)

// stepsText counts the steps of a loaded pipeline: "5 steps after expanding 1 matrix".
func stepsText(x *pipeline.Pipeline) string {
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

// resumeDrift warns when a resumed run's stored pipeline no longer expands to the steps
// the run recorded (a matrix from a param, or a pi whose ids changed): those steps would run
// from scratch, and their earlier results would be left behind. "" when they line up.
func resumeDrift(prior *run.Run, x *pipeline.Pipeline) string {
	now := make(map[string]bool, len(x.Steps))
	for _, s := range x.Steps {
		now[s.ID] = true
	}
	var gone []string
	for _, s := range prior.Steps {
		if !now[s.ID] {
			gone = append(gone, s.ID)
		}
	}
	if len(gone) == 0 {
		return ""
	}
	if len(gone) > 5 {
		gone = append(gone[:5], fmt.Sprintf("and %d more", len(gone)-5))
	}
	return fmt.Sprintf("warning: run %s recorded steps its pipeline no longer has (%s): they are not resumed", prior.ID, strings.Join(gone, ", "))
}
