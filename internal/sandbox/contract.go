package sandbox

import (
	"net/http"
	"strings"
	"sync"

	"github.com/pi-cli/pi/internal/catalog"
)

// invalidBody is the server's 400 for a body that fails its schema: the first issue's
// message, its dotted path as param (none for the empty path), and zod's issue list
// (src/lib/api-response.ts, apiZodError).
func invalidBody(issues []catalog.Issue) *apiError {
	return &apiError{status: http.StatusBadRequest, typ: errInvalidRequest, code: "invalid_request_body",
		message: issues[0].Message, param: issues[0].PathString(), issues: issues}
}

// endpointError is e as action a's endpoint sends it: an endpoint whose route answers a bad
// body with apiError rather than apiZodError (brands/extract) sends only the first issue's
// message, no param and no issues.
func endpointError(a *catalog.Action, e *apiError) *apiError {
	if e.issues != nil && !a.IssuesInErrors {
		bare := *e
		bare.param, bare.issues = "", nil
		return &bare
	}
	return e
}

var runBody struct {
	once   sync.Once
	fields []catalog.Input
}

// runBodyFields is the schema of the POST /runs body (PI-API.md, Runs): ids and
// dependencies are trimmed, unknown keys dropped, defaults filled in by parseRunBody. It is
// built on first use: only a simulated server reads run bodies.
func runBodyFields() []catalog.Input {
	runBody.once.Do(func() { runBody.fields = buildRunBodyFields() })
	return runBody.fields
}

func buildRunBodyFields() []catalog.Input {
	var names []string
	for _, a := range catalog.Server() {
		names = append(names, a.Name)
	}
	id := catalog.Input{Name: "id", Kind: catalog.String, Required: true, Trim: true, Min: 1, Max: 64}
	return []catalog.Input{
		{Name: "steps", Kind: catalog.List, Required: true, Min: 1, Max: 10, Item: &catalog.Input{
			Kind: catalog.Object, Fields: []catalog.Input{
				id,
				{Name: "action", Kind: catalog.Enum, Required: true, Enum: names},
				{Name: "input", Kind: catalog.Object},
				{Name: "depends_on", Kind: catalog.List, Item: &catalog.Input{Kind: catalog.String, Trim: true, Min: 1, Max: 64}},
				{Name: "input_map", Kind: catalog.Object, Values: &catalog.Input{Kind: catalog.String}},
			},
		}},
		{Name: "metadata", Kind: catalog.Object},
	}
}

// Codes of a bad source job (PI-API.md, "Source jobs"): what the endpoints answer, and the
// failure_code a job created inside a run fails with.
const (
	sourceNotFound     = "source_job_not_found"
	sourceTypeInvalid  = "source_job_type_invalid"
	sourceNotCompleted = "source_job_not_completed"
	sourceMissingImage = "source_job_missing_image"
)

// sourceProblem checks the source_job_id of an action that takes one: "" when the source
// is a completed generate or edit job with an image, else the code of what is wrong.
func (s *Server) sourceProblem(a *catalog.Action, input map[string]any) string {
	id, _ := input["source_job_id"].(string)
	if len(a.SourceJobTypes) == 0 || id == "" {
		return ""
	}
	src, err := s.findJob(strings.ToLower(id))
	if err != nil || src == nil {
		return sourceNotFound
	}
	s.mu.Lock()
	snap := src.job
	s.mu.Unlock()
	switch img := catalog.JobRole(snap.Type, snap.ID, snap.ResultURL, snap.Payload, catalog.RoleImage); {
	case !a.AcceptsSource(snap.Type):
		return sourceTypeInvalid
	case snap.Status != catalog.JobCompleted:
		return sourceNotCompleted
	case img == "":
		return sourceMissingImage
	}
	return ""
}

// sourceError is the endpoint's answer to a bad source job of action a, in the words of
// its route (src/lib/campaigns/queue-edit.ts, queue-localization.ts): no param.
func sourceError(a *catalog.Action, code string) *apiError {
	purpose, kinds := "editing", "generation"
	if a.Name == "campaigns.localize_ad" {
		purpose, kinds = "localization", "generation or edit"
	}
	msg := map[string]string{
		sourceNotFound:     "Source job not found.",
		sourceTypeInvalid:  "source_job_id must reference a " + strings.Join(a.SourceJobTypes, " or ") + " job.",
		sourceNotCompleted: "source_job_id must reference a completed " + kinds + " job.",
		sourceMissingImage: "Source job has no image available for " + purpose + ".",
	}[code]
	status := http.StatusBadRequest
	if code == sourceNotFound {
		status = http.StatusNotFound
	}
	return &apiError{status: status, typ: errInvalidRequest, code: code, message: msg}
}

// complete makes up what a completed job holds: its action's fake job from the catalog
// (catalog.Action.Fake), each value made by madeUp.
func (s *Server) complete(j *jobRec) {
	payload := map[string]any{}
	if a, ok := catalog.ByJobType(j.Type); ok {
		payload, j.ResultURL = a.FakeJob(func(r catalog.Role) string {
			v, _ := s.madeUp(r, j)
			return v
		})
	}
	payload["phase"] = string(catalog.JobCompleted)
	j.Payload = payload
}

// madeUp is the simulated value of a role for job j: the brand derived from its input,
// the image this server draws for it, or its own id; false for a role it cannot make.
func (s *Server) madeUp(r catalog.Role, j *jobRec) (string, bool) {
	switch r {
	case catalog.RoleBrand:
		return brandID(j.Input), true
	case catalog.RoleImage:
		return s.imageURL(OrgID, j.ID), true
	case catalog.RoleJob:
		return j.ID, true
	}
	return "", false
}

// brandOf is the brand a completed job extracted ("" for a job that gives none).
func brandOf(j *job) string {
	if j.Status != catalog.JobCompleted {
		return ""
	}
	return catalog.JobRole(j.Type, j.ID, j.ResultURL, j.Payload, catalog.RoleBrand)
}

// jobResult is data.job_result of a finished extraction ({type: brand, id, url}), nil
// for other jobs.
func jobResult(j *job) map[string]any {
	id := brandOf(j)
	if id == "" {
		return nil
	}
	return map[string]any{"type": "brand", "id": id, "url": j.ResultURL}
}
