package catalog

import "strings"

// StepResult maps a finished Pi job to the step result the server records (PI-API.md,
// "Step results"), so a pipeline gives the same results whichever side runs it: the
// fields of the job type's action, each taken where its From says (an extraction ->
// {job_id, brand_id, result_url}, brand_id parsed from a result_url brands/<id>; an ad ->
// {job_id, image_url, result_url}). An empty value is null.
func StepResult(jobType, jobID, resultURL string, payload map[string]any) map[string]any {
	a, ok := ByJobType(jobType)
	if !ok {
		return map[string]any{"job_id": jobID, "result_url": nilIfEmpty(resultURL)}
	}
	res := make(map[string]any, len(a.Result))
	for _, f := range a.Result {
		var v any
		switch from := f.From; {
		case from == "job_id":
			v = nilIfEmpty(jobID)
		case from == "result_url":
			v = nilIfEmpty(resultURL)
		case strings.HasPrefix(from, "payload."):
			if s, isStr := payload[strings.TrimPrefix(from, "payload.")].(string); isStr {
				v = nilIfEmpty(s)
			} else if x, present := payload[strings.TrimPrefix(from, "payload.")]; present {
				v = x
			}
		case strings.HasPrefix(from, "result_url:"):
			if id, ok := strings.CutPrefix(resultURL, strings.TrimPrefix(from, "result_url:")); ok && id != "" && !strings.Contains(id, "/") {
				v = id
			}
		}
		res[f.Name] = v
	}
	return res
}

// FailedStepResult is the result the server records for a step whose job failed.
func FailedStepResult(jobID, errorLog string) map[string]any {
	return map[string]any{"job_id": jobID, "error_log": nilIfEmpty(errorLog)}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// Accepts reports whether a result field of kind from (nullable or not) can fill an input
// of kind to: what an input_map may connect. Any on either side is accepted.
func Accepts(to *Input, from Kind) bool {
	if to.Kind == Any || from == Any {
		return true
	}
	switch to.Kind {
	case UUID:
		return from == UUID
	case String, URL, HTTPURL, Image, Enum:
		return from == String || from == UUID
	case List:
		return from == List
	case Object:
		return from == Object
	case Integer:
		return from == Integer
	}
	return false
}

// KindName is how messages name a kind ("a string", "a list").
func KindName(k Kind) string {
	switch k {
	case List:
		return "a list"
	case Object:
		return "an object"
	case Integer:
		return "a whole number"
	case Any:
		return "any value"
	case UUID:
		return "a uuid string"
	case Enum:
		return "one of a set of strings"
	}
	return "a string"
}
