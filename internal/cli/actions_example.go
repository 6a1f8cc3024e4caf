package cli

import (
	"strconv"
	"strings"

	"github.com/pi-cli/pi/internal/catalog"
)

// namedExample is a readable value for an input whose name says what it holds; any other
// input gets a value made from its kind and bounds (exampleValue), so a new action of the
// catalog has an example without a case here. (A switch, not a map: nothing is built at
// every pi start.)
func namedExample(name string) (string, bool) {
	switch name {
	case "url":
		return "https://example.com", true
	case "prompt":
		return "A hero ad for this brand", true
	case "target_culture":
		return "French urban premium", true
	case "target_language":
		return "fr", true
	case "target_currency":
		return "EUR", true
	case "command":
		return "[echo, hello]", true
	case "script":
		return "echo hello", true
	case "method":
		return "GET", true
	}
	return "", false
}

// exampleStep is one step of an action's example pipeline.
type exampleStep struct {
	id     string
	action *catalog.Action
	deps   []string
	inputs []string // "name: value" lines
	maps   []string // "name: $steps..." lines
	skip   []string // optional inputs not shown
}

// actionExample is a small pipeline that uses the action, in YAML: the action's step with
// its required inputs (one of each group), and before it the steps whose results its uuid
// inputs take through input_map (a brand for brand_id, a source job for source_job_id).
// `pi validate` accepts it as it is (a test checks every action).
func actionExample(a *catalog.Action) string {
	main := exampleStepFor(a)
	var ups []exampleStep
	for i := range a.Inputs {
		in := &a.Inputs[i]
		if in.Kind != catalog.UUID {
			continue
		}
		src, field := exampleSource(a, in.Name)
		_, grouped := a.InGroup(in.Name)
		switch {
		case grouped && !exampleShows(a, in):
			main.skip = append(main.skip, in.Name)
		case src != nil:
			up := exampleStepFor(src)
			ups = append(ups, up)
			main.maps = append(main.maps, in.Name+": $steps."+up.id+".result."+field)
		case exampleShows(a, in):
			main.inputs = append(main.inputs, in.Name+": "+exampleUUID)
		default:
			main.skip = append(main.skip, in.Name)
		}
	}
	// the earlier steps in the catalog's order (a brand before an ad)
	var steps []exampleStep
	for _, c := range catalog.All() {
		for _, up := range ups {
			if up.action.Name == c.Name {
				steps = append(steps, up)
			}
		}
	}
	main.deps = main.deps[:0]
	for _, up := range steps {
		main.deps = append(main.deps, up.id)
	}
	steps = append(steps, main)

	var b strings.Builder
	b.WriteString("steps:\n")
	for _, s := range steps {
		b.WriteString("  - id: " + s.id + "\n    action: " + s.action.Name + "\n")
		if len(s.deps) > 0 {
			b.WriteString("    depends_on: [" + strings.Join(s.deps, ", ") + "]\n")
		}
		b.WriteString("    input:")
		if len(s.inputs) == 0 {
			b.WriteString(" {}")
		}
		b.WriteString("\n")
		for _, l := range s.inputs {
			b.WriteString("      " + l + "\n")
		}
		if s.action == a {
			for _, l := range exampleOthers(a, s.skip) {
				b.WriteString("      # " + l + "\n")
			}
		}
		if len(s.maps) > 0 {
			b.WriteString("    input_map:\n")
			for _, l := range s.maps {
				b.WriteString("      " + l + "\n")
			}
		}
	}
	return b.String()
}

// exampleOthers are the comment lines that name the inputs the example leaves out: the
// other members of a group ("or instead of source_job_id: source_image_url"), then the
// optional ones, wrapped so that `pi actions NAME` fits 60 columns.
func exampleOthers(a *catalog.Action, skipped []string) []string {
	var lines, optional []string
	alt := map[*catalog.Group][]string{}
	var groups []*catalog.Group
	for _, name := range skipped {
		if g, ok := a.InGroup(name); ok {
			if alt[g] == nil {
				groups = append(groups, g)
			}
			alt[g] = append(alt[g], name)
			continue
		}
		optional = append(optional, name)
	}
	for _, g := range groups {
		how := "with or instead of "
		if g.Exactly {
			how = "instead of "
		}
		lines = append(lines, how+groupChoice(a, g)+": "+strings.Join(alt[g], ", "))
	}
	if len(optional) > 0 {
		lines = append(lines, wrapWords("optional: "+strings.Join(optional, ", "), 48)...)
	}
	return lines
}

// exampleStepFor is a step of action a with the inputs it needs, given literally.
func exampleStepFor(a *catalog.Action) exampleStep {
	s := exampleStep{id: a.Name[strings.LastIndex(a.Name, ".")+1:], action: a}
	for i := range a.Inputs {
		in := &a.Inputs[i]
		switch {
		case in.Kind == catalog.UUID:
			// actionExample maps it from an earlier step (never made up when it can)
		case exampleShows(a, in):
			s.inputs = append(s.inputs, in.Name+": "+exampleValue(in))
		default:
			s.skip = append(s.skip, in.Name)
		}
	}
	return s
}

// exampleUUID stands for a uuid no earlier step of the example gives.
const exampleUUID = "3f2b8c1e-5d4a-4b6e-9f70-1a2b3c4d5e6f"

// exampleShows: the input is required, or the member of a group the example gives
// (groupChoice).
func exampleShows(a *catalog.Action, in *catalog.Input) bool {
	if in.Required {
		return true
	}
	g, ok := a.InGroup(in.Name)
	return ok && groupChoice(a, g) == in.Name
}

// groupChoice is the member of a group the example gives: one an earlier step's result can
// fill (a source_job_id), else the first.
func groupChoice(a *catalog.Action, g *catalog.Group) string {
	for _, name := range g.Inputs {
		if in, ok := a.Input(name); ok && in.Kind == catalog.UUID {
			if src, _ := exampleSource(a, name); src != nil {
				return name
			}
		}
	}
	return g.Inputs[0]
}

// exampleSource is the Pi action whose result gives the uuid input name of a, and the
// result field: a source job's job_id for source_job_id, else a result field of that name.
func exampleSource(a *catalog.Action, name string) (*catalog.Action, string) {
	if name == "source_job_id" && len(a.SourceJobTypes) > 0 {
		if src, ok := catalog.ByJobType(a.SourceJobTypes[0]); ok {
			if job, ok := src.RoleField(catalog.RoleJob); ok {
				return src, job
			}
		}
		return nil, ""
	}
	for _, src := range catalog.All() {
		if src.Name == a.Name || src.Local {
			continue
		}
		if f, ok := src.Field(name); ok && f.Kind == catalog.UUID {
			return src, name
		}
	}
	return nil, ""
}

// exampleValue is a YAML value that the input's rules accept.
func exampleValue(in *catalog.Input) string {
	if v, ok := namedExample(in.Name); ok {
		return v
	}
	switch in.Kind {
	case catalog.URL, catalog.HTTPURL:
		return "https://example.com"
	case catalog.Image:
		return "https://example.com/image.png"
	case catalog.Enum:
		return strconv.Quote(in.Enum[0])
	case catalog.Integer:
		return strconv.Itoa(max(in.Min, 1))
	case catalog.List:
		item := "example"
		if in.Item != nil {
			item = exampleValue(in.Item)
		}
		return "[" + strings.TrimSuffix(strings.Repeat(item+", ", max(in.Min, 1)), ", ") + "]"
	case catalog.Object:
		return "{}"
	case catalog.String:
		s := "example"
		if in.Max > 0 && len(s) > in.Max {
			s = s[:in.Max]
		}
		for len(s) < in.Min {
			s += "x"
		}
		return strconv.Quote(s)
	}
	return "example"
}
