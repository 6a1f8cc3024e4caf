package actions

import (
	"context"
	"errors"

	"github.com/pi-cli/pi/internal/engine"
	"github.com/pi-cli/pi/internal/safe"
)

// Redacting wraps an executor so that nothing it returns (results, error messages, a
// failed step's result) holds a secret of r: a server, a URL fetched by http.request or a
// script can echo the API key, and what a step returns is shown, emitted and stored.
func Redacting(ex engine.Executor, r *safe.Redactor) engine.Executor {
	if !r.Active() {
		return ex
	}
	return redacting{ex: ex, r: r}
}

type redacting struct {
	ex engine.Executor
	r  *safe.Redactor
}

func (x redacting) Execute(ctx context.Context, req engine.Request) (map[string]any, error) {
	res, err := x.ex.Execute(ctx, req)
	if res != nil {
		res = x.r.Value(res).(map[string]any)
	}
	if err == nil {
		return res, nil
	}
	msg := err.Error()
	clean := x.r.String(msg)
	var se *engine.StepError
	if errors.As(err, &se) {
		out := *se
		if clean != msg {
			out.Err = &redactedErr{msg: clean, err: err}
		}
		if out.Result != nil {
			out.Result = x.r.Value(out.Result).(map[string]any)
		}
		return res, &out
	}
	if clean != msg {
		return res, &redactedErr{msg: clean, err: err}
	}
	return res, err
}

// redactedErr shows a redacted message and keeps the original for errors.Is (a
// cancellation stays a cancellation).
type redactedErr struct {
	msg string
	err error
}

func (e *redactedErr) Error() string { return e.msg }
func (e *redactedErr) Unwrap() error { return e.err }
