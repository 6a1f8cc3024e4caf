// Package catalog owns the contract of every action a step can use: its endpoint and job
// type, each input with the server's rules, the groups of inputs, the result fields and
// the jobs a source_job_id may name. Validation, `pi schema`, `pi actions`, the local
// executors and the simulated server all read it, so they cannot drift from each other.
package catalog

import (
	"fmt"
	"sort"
	"strings"
)

// Kind is the form of an input value or of a result field.
type Kind string

const (
	String  Kind = "string"  // a string; Trim, Min and Max bound its length in characters
	UUID    Kind = "uuid"    // a canonical 8-4-4-4-12 uuid
	URL     Kind = "url"     // anything `new URL()` accepts (a scheme, then the rest)
	HTTPURL Kind = "httpurl" // an http or https URL with a host
	Image   Kind = "image"   // an https URL, a data: URL or raw base64
	Enum    Kind = "enum"    // one of Enum
	List    Kind = "list"    // a list of Item; Min and Max bound its length
	Object  Kind = "object"  // a mapping: Fields when it has known keys, Values for a record
	Integer Kind = "integer" // a whole number
	Any     Kind = "any"     // any value
)

// Input is one input of an action (or one field of a nested object).
type Input struct {
	Name     string
	Kind     Kind
	Required bool
	// Trim: the server trims the string before checking its length (and uses it trimmed).
	Trim bool
	// Min and Max bound a string's length, a list's items or a record's keys; Max 0 means
	// no bound. Min == Max > 0 means exactly that many.
	Min, Max int
	Enum     []string
	// Union: the server writes the enum as z.union([z.literal(Union), z.enum(the rest)]),
	// so a bad value is an invalid_union ("Invalid input").
	Union string
	// TooMany is the server's message for a record with more than Max keys.
	TooMany string
	Item    *Input  // the items of a List
	Fields  []Input // the known keys of an Object, in the server's order
	Values  *Input  // the values of an Object that is a record (metadata)
	// Description says what the input is, for `pi schema` and `pi actions`.
	Description string
}

// Group is a rule over several inputs of an action.
type Group struct {
	Inputs []string
	// Exactly: exactly one of Inputs must be given; otherwise at least one.
	Exactly bool
	// Path is the input the server reports the issue on, Text its message (made from
	// Inputs when empty).
	Path, Text string
}

// Field is one field of an action's result, what input_map can take.
type Field struct {
	Name        string
	Kind        Kind
	Nullable    bool
	Description string
	// From says where a Pi action's step result takes the field from its finished job:
	// "job_id", "result_url", "payload.<key>", or "result_url:<prefix>" (what follows
	// prefix in result_url, a single path segment; null otherwise). Local actions build
	// their results themselves.
	From string
	// Role is what the field is to pi ("" for nothing special): see Role.
	Role Role
}

// Action is the contract of one action.
type Action struct {
	Name        string
	Description string
	// Endpoint is the action's own API route, JobType the type of the job it creates
	// ("" for both on a local action).
	Endpoint string
	JobType  string
	// Local: only pi's own engine runs it (--local); the Runs API does not know it.
	Local  bool
	Inputs []Input
	Groups []Group
	Result []Field
	// SourceJobTypes are the job types a source_job_id may name (nil: the action takes
	// no source job).
	SourceJobTypes []string
	// Idempotent: the endpoint honours Idempotency-Key (replay, 409 on another body).
	Idempotent bool
	// IssuesInErrors: the endpoint's 400 for a bad body carries param and zod's issues
	// besides the first issue's message (the campaign routes' apiZodError); brands/extract's
	// carries only the message.
	IssuesInErrors bool
	// Dropped are keys other actions take that this one drops without a word, with why
	// (a slice, not a map: a map literal would be built at every pi start).
	Dropped []DroppedKey
	// Fake is the completed job the simulated server makes for a Pi action, beyond its
	// phase: each value by its role. A test checks every Pi action has one.
	Fake []Made
	// Contract is the version of the action's input and result contract. Bump it whenever
	// what the action takes or gives changes (a new input, another result field, another
	// meaning): the step cache keys every result by it, so results made under an older
	// contract are never reused for a step written against the new one.
	Contract int
}

// DroppedKey is an input key an action drops without a word, and why.
type DroppedKey struct{ Key, Why string }

// DropReason says why the action drops the input key, if it does.
func (a *Action) DropReason(key string) (why string, dropped bool) {
	for _, d := range a.Dropped {
		if d.Key == key {
			return d.Why, true
		}
	}
	return "", false
}

// Input returns the named top-level input.
func (a *Action) Input(name string) (*Input, bool) {
	for i := range a.Inputs {
		if a.Inputs[i].Name == name {
			return &a.Inputs[i], true
		}
	}
	return nil, false
}

// Field returns the named result field.
func (a *Action) Field(name string) (*Field, bool) {
	for i := range a.Result {
		if a.Result[i].Name == name {
			return &a.Result[i], true
		}
	}
	return nil, false
}

// InputNames lists the action's inputs in the server's order.
func (a *Action) InputNames() []string {
	out := make([]string, len(a.Inputs))
	for i, in := range a.Inputs {
		out[i] = in.Name
	}
	return out
}

// ResultNames lists the result fields.
func (a *Action) ResultNames() []string {
	out := make([]string, len(a.Result))
	for i, f := range a.Result {
		out[i] = f.Name
	}
	return out
}

// Required lists the required inputs.
func (a *Action) Required() []string {
	var out []string
	for _, in := range a.Inputs {
		if in.Required {
			out = append(out, in.Name)
		}
	}
	return out
}

// InGroup returns the group an input belongs to.
func (a *Action) InGroup(name string) (*Group, bool) {
	for i := range a.Groups {
		for _, k := range a.Groups[i].Inputs {
			if k == name {
				return &a.Groups[i], true
			}
		}
	}
	return nil, false
}

// Optional lists the inputs neither required nor in a group.
func (a *Action) Optional() []string {
	var out []string
	for _, in := range a.Inputs {
		if _, grouped := a.InGroup(in.Name); !in.Required && !grouped {
			out = append(out, in.Name)
		}
	}
	return out
}

// Runs says where the action can run: "server, local" or "local".
func (a *Action) Runs() string {
	if a.Local {
		return "local"
	}
	return "server, local"
}

// AcceptsSource reports whether a job of type jobType can be the action's source job.
func (a *Action) AcceptsSource(jobType string) bool {
	for _, t := range a.SourceJobTypes {
		if t == jobType {
			return true
		}
	}
	return false
}

// Lookup returns the named action.
func Lookup(name string) (*Action, bool) {
	for i := range actions {
		if actions[i].Name == name {
			return &actions[i], true
		}
	}
	return nil, false
}

// ByJobType returns the action whose jobs have the given type.
func ByJobType(jobType string) (*Action, bool) {
	for i := range actions {
		if jobType != "" && actions[i].JobType == jobType {
			return &actions[i], true
		}
	}
	return nil, false
}

// All returns every action, sorted by name. The specs are shared: do not modify them.
func All() []*Action {
	out := make([]*Action, len(actions))
	for i := range actions {
		out[i] = &actions[i]
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Server returns the actions the Runs API accepts, in the order its messages list them.
func Server() []*Action {
	var out []*Action
	for i := range actions {
		if !actions[i].Local {
			out = append(out, &actions[i])
		}
	}
	return out
}

// Rules describes an input's rules in words, for `pi schema` and `pi actions`:
// "a string, trimmed, 1 to 5000 characters".
func Rules(in *Input) string {
	var b []string
	switch in.Kind {
	case String:
		b = append(b, "a string")
	case UUID:
		b = append(b, "a uuid")
	case URL:
		b = append(b, "a URL (any scheme)")
	case HTTPURL:
		b = append(b, "an http or https URL")
	case Image:
		b = append(b, "a string read as an https URL, a data: URL or base64")
	case Enum:
		b = append(b, "one of "+strings.Join(in.Enum, ", "))
	case List:
		b = append(b, "a list of ("+Rules(in.Item)+")")
	case Object:
		switch {
		case in.Values != nil && in.Values.Kind != Any:
			b = append(b, "an object of ("+Rules(in.Values)+")")
		case len(in.Fields) > 0:
			names := make([]string, len(in.Fields))
			for i, f := range in.Fields {
				names[i] = f.Name
			}
			b = append(b, "an object {"+strings.Join(names, ", ")+"}")
		default:
			b = append(b, "an object")
		}
	case Integer:
		b = append(b, "a whole number")
	case Any:
		b = append(b, "any value")
	}
	if in.Trim {
		b = append(b, "trimmed")
	}
	unit := "characters"
	switch in.Kind {
	case List:
		unit = "items"
	case Object:
		unit = "keys"
	}
	switch {
	case in.Min > 0 && in.Min == in.Max:
		b = append(b, fmt.Sprintf("exactly %d %s", in.Min, unit))
	case in.Min > 0 && in.Max > 0:
		b = append(b, fmt.Sprintf("%d to %d %s", in.Min, in.Max, unit))
	case in.Max > 0:
		b = append(b, fmt.Sprintf("at most %d %s", in.Max, unit))
	case in.Min == 1 && in.Kind != List && in.Kind != Object:
		b = append(b, "not empty")
	case in.Min > 0:
		b = append(b, fmt.Sprintf("at least %d %s", in.Min, unit))
	}
	return strings.Join(b, ", ")
}
