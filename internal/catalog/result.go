package catalog

import "strings"

// StepResult maps a finished Pi job to the step result the server records (PI-API.md,
// "Step results"), so a pipeline gives the same results whichever side runs it: an
// extraction -> {job_id, brand_id, result_url}, an ad -> {job_id, image_url, result_url}.
// brand_id is parsed from a result_url of the form brands/<id> and is nil otherwise.
func StepResult(jobType, jobID, resultURL string, payload map[string]any) map[string]any {
	res := map[string]any{"job_id": jobID, "result_url": nilIfEmpty(resultURL)}
	if jobType == JobBrandExtraction {
		var brand any
		if id, ok := strings.CutPrefix(resultURL, "brands/"); ok && id != "" && !strings.Contains(id, "/") {
			brand = id
		}
		res["brand_id"] = brand
		return res
	}
	var image any
	if v, ok := payload["image_url"].(string); ok && v != "" {
		image = v
	}
	res["image_url"] = image
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
