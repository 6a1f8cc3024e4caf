package cli

import (
	"context"
	"errors"
	"fmt"
)

// Exit codes (DESIGN.md, "Exit codes"; `pi help exit-codes`).
const (
	ExitOK          = 0
	ExitRunFailed   = 1
	ExitUsage       = 2
	ExitCancelled   = 3
	ExitAPI         = 4
	ExitTimeout     = 5
	ExitInterrupted = 130
)

// ExitCoder is implemented by errors that know their exit code (piapi's API errors say 4
// without importing this package).
type ExitCoder interface {
	ExitCode() int
}

// ExitError ends the program with Code. When Silent, the message was already printed (or
// there is none) and Main prints nothing more.
type ExitError struct {
	Code   int
	Err    error
	Silent bool
}

func (e *ExitError) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("exit status %d", e.Code)
	}
	return e.Err.Error()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ExitCode returns e.Code.
func (e *ExitError) ExitCode() int { return e.Code }

// UsageErrorf is a usage error (exit 2): bad flags, arguments or an invalid pipeline file.
func UsageErrorf(format string, a ...any) error {
	return &ExitError{Code: ExitUsage, Err: fmt.Errorf(format, a...)}
}

// SilentExit ends with code after the command printed everything itself.
func SilentExit(code int) error { return &ExitError{Code: code, Silent: true} }

// exitCode maps an error to the process exit code; the one place that does.
func exitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ec ExitCoder
	if errors.As(err, &ec) {
		return ec.ExitCode()
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	if errors.Is(err, errFlag) {
		return ExitUsage
	}
	return ExitRunFailed
}

func isSilent(err error) bool {
	var ee *ExitError
	return errors.As(err, &ee) && ee.Silent
}

// errFlag marks flag and argument errors found by cobra.
var errFlag = errors.New("usage")

type flagError struct{ err error }

func (e flagError) Error() string   { return e.err.Error() }
func (e flagError) Unwrap() []error { return []error{e.err, errFlag} }
