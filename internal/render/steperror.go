package render

import (
	"strings"

	"github.com/pi-cli/pi/internal/catalog"
	"github.com/pi-cli/pi/internal/run"
	"github.com/pi-cli/pi/internal/safe"
)

// StepErrorText is a step's error as people read it (json output keeps the server's
// text): zod's issue list of an input that failed the action's schema inside a run as
// "prompt: Required; output.aspect_ratio: ...", and the opaque child_job_failed with the
// job's failure_code when pi learnt it ("child_job_failed: source_job_type_invalid").
// Callers that show one line cut the rest (an error_log may be a stack trace).
func StepErrorText(s *run.Step) string {
	// What looks like a credential (a URL's password, a token parameter, Bearer ...) is
	// not shown, whoever wrote the error.
	return safe.SecretsText(stepErrorText(s))
}

func stepErrorText(s *run.Step) string {
	if issues, ok := catalog.ParseZodMessage(s.Error); ok {
		parts := make([]string, len(issues))
		for i, is := range issues {
			parts[i] = is.Message
			if p := is.PathString(); p != "" {
				parts[i] = p + ": " + is.Message
			}
		}
		return strings.Join(parts, "; ")
	}
	if code, _ := s.Result[run.FailureCodeKey].(string); code != "" && !strings.Contains(s.Error, code) {
		return s.Error + ": " + code
	}
	return s.Error
}
