// Package actions owns the executors of pi's local engine: the actions pi runs itself
// (shell.run, http.request) and a Registry that dispatches each step on its action name.
package actions

import (
	"context"
	"fmt"

	"github.com/pi-cli/pi/internal/engine"
)

// Registry is an engine.Executor that hands each step to the executor of its action.
type Registry map[string]engine.Executor

// Local returns a registry of the actions pi runs on this machine.
func Local() Registry {
	return Registry{
		"shell.run":    &Shell{},
		"http.request": &HTTP{},
	}
}

// Execute dispatches on req.Step.Action.
func (r Registry) Execute(ctx context.Context, req engine.Request) (map[string]any, error) {
	ex, ok := r[req.Step.Action]
	if !ok {
		return nil, engine.Permanent(fmt.Errorf("step %q: action %q has no local executor", req.Step.ID, req.Step.Action))
	}
	return ex.Execute(ctx, req)
}
