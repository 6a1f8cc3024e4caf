package catalog

import "strings"

// Role is what a result field means to pi beyond its name: code that wants a step's image,
// brand or job asks the catalog for the field with that role instead of naming one, so a
// new action with an image is drawn, summarised, reported and downloaded as it is.
type Role string

const (
	RoleJob   Role = "job"   // the id of the step's job (what a later source_job_id names)
	RoleBrand Role = "brand" // the id of the brand the step extracted (a later brand_id)
	RoleImage Role = "image" // the public URL of the image the step made
)

// Made is one value of a completed job of an action as the simulated server makes it up:
// To is where it goes ("payload.<key>" or "result_url"), Role what it is (the sandbox
// makes a brand from the input, an image for the job), Prefix what precedes it there.
type Made struct {
	To     string
	Role   Role
	Prefix string
}

// RoleField returns the name of the action's result field with the role.
func (a *Action) RoleField(role Role) (string, bool) {
	for i := range a.Result {
		if a.Result[i].Role == role {
			return a.Result[i].Name, true
		}
	}
	return "", false
}

// RoleOf finds the field with the role in a step result of the named action: its name and
// value, ok when the result has it. A local action's result is whatever its step made (a
// shell step's JSON output): a field there is read by the name a Pi action gives that
// role, so `{"image_url": ...}` printed by a script is its step's image too.
func RoleOf(action string, result map[string]any, role Role) (name string, value any, ok bool) {
	if a, known := Lookup(action); known && !a.Local {
		if name, has := a.RoleField(role); has {
			value, ok = result[name]
			return name, value, ok
		}
		return "", nil, false
	}
	for i := range actions {
		for _, f := range actions[i].Result {
			if f.Role == role {
				if v, has := result[f.Name]; has {
					return f.Name, v, true
				}
			}
		}
	}
	return "", nil, false
}

// ResultRole is the trimmed string that a step result of the named action holds in its
// field with the role (RoleOf), "" when it has none or the value is not a string.
func ResultRole(action string, result map[string]any, role Role) string {
	_, v, _ := RoleOf(action, result, role)
	s, _ := v.(string)
	return strings.TrimSpace(s)
}

// JobRole is ResultRole for a finished job of the given type, read as StepResult maps it.
func JobRole(jobType, jobID, resultURL string, payload map[string]any, role Role) string {
	a, ok := ByJobType(jobType)
	if !ok {
		return ""
	}
	return ResultRole(a.Name, StepResult(jobType, jobID, resultURL, payload), role)
}

// FakeJob is the payload (without its phase) and result_url of a completed job of the
// action as the simulated server makes it: Fake's values, each made by value(role).
func (a *Action) FakeJob(value func(Role) string) (payload map[string]any, resultURL string) {
	payload = make(map[string]any, len(a.Fake))
	for _, m := range a.Fake {
		v := m.Prefix + value(m.Role)
		if key, ok := strings.CutPrefix(m.To, "payload."); ok {
			payload[key] = v
		} else {
			resultURL = v
		}
	}
	return payload, resultURL
}
