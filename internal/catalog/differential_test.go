package catalog

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
)

// The differential test: Check against the server's own zod schemas on a table of inputs
// built here from the actions' rules (differentialInputs), covering every class of issue 19
// (nulls, image references, URLs, groups, __proto__, issue order, aspect_ratio's union) on
// both sides, accepted and refused.
//
// testdata/zod-verdicts.json holds zod's verdict on each input: made once with node and the
// server's schemas, never needed by the test. To make it again (zod as the server pins it):
//
//	mkdir /tmp/zod && cd /tmp/zod && npm install zod@3.25.76
//	# write /tmp/zod/schemas.cjs: the four input schemas of ngandimoun/pi-api, copied from
//	# src/lib/brand-extraction.ts (brandExtractionInputSchema), src/contracts/campaign-ads-api.ts,
//	# campaign-ads-edit-api.ts and campaign-localize-api.ts (with FLASH_ASPECT_RATIOS and
//	# ALLOWED_RESOLUTIONS from src/lib/avatar/image-config.ts), exported under the action
//	# names ("brands.extract", ...): the server's code stays out of this repository
//	cd internal/catalog
//	go test -run TestDifferentialZod -zod-inputs /tmp/zod/inputs.json .
//	node testdata/zod-verdicts.mjs /tmp/zod/schemas.cjs /tmp/zod/inputs.json > testdata/zod-verdicts.json
var zodInputs = flag.String("zod-inputs", "", "write the differential test's inputs to this file, for testdata/zod-verdicts.mjs")

type zodCase struct {
	Action string         `json:"action"`
	Class  string         `json:"class"`
	Input  map[string]any `json:"input"`
	// From zod: whether it accepts the input, and its issues (JSON.stringify). The parse
	// error's message, a run step's error, is the same issues pretty-printed.
	OK     bool            `json:"ok"`
	Issues json.RawMessage `json:"issues,omitempty"`
}

func TestDifferentialZod(t *testing.T) {
	if *zodInputs != "" {
		b, err := json.MarshalIndent(differentialInputs(), "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(*zodInputs, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile("testdata/zod-verdicts.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases []zodCase
	if err := json.Unmarshal(b, &cases); err != nil {
		t.Fatal(err)
	}
	type side struct{ ok, refused, several int }
	perAction := map[string]int{}
	classes := map[string]*side{}
	for i, c := range cases {
		perAction[c.Action]++
		key := c.Action + " " + c.Class
		if classes[key] == nil {
			classes[key] = &side{}
		}
		if c.OK {
			classes[key].ok++
		} else {
			classes[key].refused++
			if bytes.Count(c.Issues, []byte(`"message"`)) > 1 {
				classes[key].several++
			}
		}
		issues := Check(c.Action, c.Input)
		name := fmt.Sprintf("%d %s %s %s", i, c.Action, c.Class, compact(c.Input))
		if c.OK {
			if len(issues) > 0 {
				t.Errorf("%s: zod accepts it, Check says %s", name, issueList(issues))
			}
			continue
		}
		got, _ := json.Marshal(issues)
		if !bytes.Equal(got, c.Issues) {
			t.Errorf("%s:\n got %s\nzod %s", name, got, c.Issues)
			continue
		}
		var pretty bytes.Buffer
		_ = json.Indent(&pretty, c.Issues, "", "  ")
		if msg := ZodMessage(issues); msg != pretty.String() {
			t.Errorf("%s: step error\n%s\nzod's\n%s", name, msg, pretty.String())
		}
	}
	for _, a := range Server() {
		if perAction[a.Name] < 300 {
			t.Errorf("%s: %d inputs, want at least 300", a.Name, perAction[a.Name])
		}
	}
	// Each class is tried on both sides for the actions it concerns (null beside absent),
	// and the order of issues on inputs with several.
	for _, want := range []string{
		"brands.extract null", "brands.extract url", "brands.extract group",
		"campaigns.generate null", "campaigns.generate image", "campaigns.generate proto", "campaigns.generate union",
		"campaigns.edit null", "campaigns.edit image", "campaigns.edit proto", "campaigns.edit union",
		"campaigns.localize_ad null", "campaigns.localize_ad image", "campaigns.localize_ad group", "campaigns.localize_ad proto",
		"campaigns.localize_ad union",
	} {
		if s := classes[want]; s == nil || s.ok == 0 || s.refused == 0 {
			t.Errorf("%s: not tried on both sides (%+v)", want, s)
		}
	}
	for _, a := range Server() {
		if s := classes[a.Name+" order"]; s == nil || s.several < 20 {
			t.Errorf("%s: fewer than 20 inputs with several issues (%+v)", a.Name, s)
		}
	}
}

func compact(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 200 {
		return string(b[:200]) + "…"
	}
	return string(b)
}

func issueList(issues []Issue) string {
	var s []string
	for _, i := range issues {
		s = append(s, i.PathString()+": "+i.Message)
	}
	return strings.Join(s, "; ")
}

// differentialInputs builds the inputs from each action's rules: every input set to values
// of each kind around its rules, the groups' combinations, pairs of wrong inputs (for the
// order of issues and the first one, the param users see), and nulls everywhere.
func differentialInputs() []zodCase {
	var out []zodCase
	for _, a := range Server() {
		g := &caseGen{action: a, base: validBase(a.Name)}
		g.fields()
		g.groups()
		g.pairs()
		g.records()
		out = append(out, g.cases...)
	}
	return out
}

type caseGen struct {
	action *Action
	base   map[string]any
	cases  []zodCase
}

const (
	zodUUID  = "8177a096-0e0a-4806-a856-80d06bccd834"
	zodImage = "https://cdn.example.com/a.png"
)

func validBase(action string) map[string]any {
	switch action {
	case "brands.extract":
		return map[string]any{"url": "https://example.com"}
	case "campaigns.edit":
		return map[string]any{"source_job_id": zodUUID, "prompt": "make it blue"}
	case "campaigns.localize_ad":
		return map[string]any{"prompt": "keep the layout", "target_culture": "French", "source_job_id": zodUUID}
	}
	return map[string]any{"prompt": "a hero ad"}
}

func (g *caseGen) add(class string, in map[string]any) {
	g.cases = append(g.cases, zodCase{Action: g.action.Name, Class: class, Input: in})
}

// with is the base with key set to v (deleted when v is absentValue).
func (g *caseGen) with(kv ...any) map[string]any {
	in := maps.Clone(g.base)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == absentValue {
			delete(in, kv[i].(string))
			continue
		}
		in[kv[i].(string)] = kv[i+1]
	}
	return in
}

type absent struct{}

var absentValue = absent{}

// fields sets each top-level input, and each field of output and location, to every
// value of its kind's table.
func (g *caseGen) fields() {
	for i := range g.action.Inputs {
		in := &g.action.Inputs[i]
		for _, v := range valuesFor(in) {
			g.add(classOf(in, v), g.with(in.Name, v))
		}
		for j := range in.Fields {
			f := &in.Fields[j]
			for _, v := range valuesFor(f) {
				obj := map[string]any{}
				if v != absentValue {
					obj[f.Name] = v
				}
				g.add(classOf(f, v), g.with(in.Name, obj))
			}
		}
	}
	g.add("unknown", g.with("colour", "red", "__proto__", map[string]any{"prompt": 1}))
}

func classOf(in *Input, v any) string {
	switch {
	case v == nil || v == absentValue && !in.Required:
		// null beside absent, which an optional input accepts
		return "null"
	case in.Union != "":
		return "union"
	case in.Kind == Image || in.Kind == List && in.Item.Kind == Image:
		return "image"
	case in.Kind == URL:
		return "url"
	}
	return "value"
}

// valuesFor is the table of values tried for an input: absent, null, other types, and
// values around its rules.
func valuesFor(in *Input) []any {
	vals := []any{absentValue, nil, 5, true, []any{}, map[string]any{}, "x"}
	switch in.Kind {
	case String, UUID, URL, Image:
		vals = append(vals, "", " ", "\u00a0x\u3000", "\t\n")
		if in.Max > 0 {
			vals = append(vals, strings.Repeat("a", in.Max), strings.Repeat("a", in.Max+1),
				" "+strings.Repeat("a", in.Max)+" ", strings.Repeat("😀", in.Max/2), strings.Repeat("😀", in.Max/2+1))
		}
		if in.Min > 1 {
			vals = append(vals, strings.Repeat("a", in.Min-1), strings.Repeat("a", in.Min), strings.Repeat("a", in.Min+1), " a")
		}
	case List:
		item := any("x")
		if in.Item.Kind == Image {
			item = zodImage
		}
		vals = append(vals, []any{item}, []any{nil}, []any{""}, []any{" "}, []any{5}, []any{item, 5, nil}, "x")
		if in.Max > 0 {
			vals = append(vals, list(in.Max, item), list(in.Max+1, item), list(in.Max+1, 5))
		}
		if in.Item.Min > 1 {
			vals = append(vals, []any{"f"}, []any{"fr"}, []any{"fr", "e"})
		}
	case Enum:
		vals = append(vals, "", strings.ToUpper(in.Enum[len(in.Enum)-1]), "7:3")
		for _, o := range in.Enum {
			vals = append(vals, o)
		}
	case Object:
		vals = append(vals, map[string]any{"unknown": 1}, map[string]any{"a": nil})
	}
	switch in.Kind {
	case UUID:
		vals = append(vals, zodUUID, strings.ToUpper(zodUUID), "{"+zodUUID+"}", "urn:uuid:"+zodUUID, " "+zodUUID,
			zodUUID[:35]+"g", strings.ReplaceAll(zodUUID, "-", ""), "$steps.hero.result.job_id")
	case URL:
		vals = append(vals, differentialURLs...)
	case Image:
		vals = append(vals, differentialImages...)
	case List:
		if in.Item.Kind == Image {
			for _, img := range differentialImages {
				vals = append(vals, []any{img})
			}
		}
	}
	return vals
}

// differentialURLs are issue 19's URLs and others around the WHATWG parser's rules.
var differentialURLs = []any{
	"https://example.com", "https://999.1.1.1", "https://1.2.3.4.5", "https://256.256.256.256", "https://a<b.com",
	"https://xn--", "https://example.com\u3000", "https://[fe80::1%25eth0]", "http:example.com", "http:/x", `http:\\x`,
	"http:///x", "https://ex%41mple.com", "https://example.com/%zz", "example.com", "mailto:brand@example.com",
	"ftp://example.com/x", " https://example.com ", "https://exa mple.com", "https://", "https://x.test:65535/",
	"https://x.test:65536/", "https://0x7f.1", "https://[::1]:8080", "https://münchen.de", "https://xn--mnchen-3ya.de",
	"https://a%2Fb.com", "file:///etc/hosts", "javascript:alert(1)", "https://user:pass@example.com", "https://@example.com",
	"https://example.com:port", "HTTPS://EXAMPLE.COM", "https://example..com", "https://1.2.3.09", "foo://a b",
}

// differentialImages are image references the server reads differently
// (src/lib/ads/reference-inputs.ts): only a trimmed "https://" prefix is fetched.
var differentialImages = []any{
	zodImage, "http://cdn.example.com/a.png", "HTTPS://cdn.example.com/a.png", "data:,x", " " + zodImage,
	"not base64!", "iVBORw0KGgo=", "data:image/png;base64,iVBORw0KGgo=", "data:image/gif;base64,R0lGOD",
	"https://", strings.Repeat("A", MaxSourceImageURL+1),
}

// groups tries every combination of a group's inputs: absent, null, blank, wrong, given.
func (g *caseGen) groups() {
	for _, grp := range g.action.Groups {
		base := maps.Clone(g.base)
		for _, k := range grp.Inputs {
			delete(base, k)
		}
		choices := make([][]any, len(grp.Inputs))
		for i, k := range grp.Inputs {
			in, _ := g.action.Input(k)
			choices[i] = []any{absentValue, nil, "", " "}
			switch in.Kind {
			case UUID:
				choices[i] = append(choices[i], zodUUID, "job-1")
			case URL:
				choices[i] = append(choices[i], "https://example.com", "example.com")
			case List:
				choices[i] = []any{absentValue, nil, []any{}, []any{""}, []any{"aGk="}}
			default:
				choices[i] = append(choices[i], "aGk=", "http://cdn.example.com/a.png")
			}
		}
		for _, combo := range product(choices) {
			in := maps.Clone(base)
			for i, v := range combo {
				if v != absentValue {
					in[grp.Inputs[i]] = v
				}
			}
			g.add("group", in)
		}
	}
}

func product(choices [][]any) [][]any {
	out := [][]any{{}}
	for _, cs := range choices {
		var next [][]any
		for _, prefix := range out {
			for _, c := range cs {
				next = append(next, append(slices.Clone(prefix), c))
			}
		}
		out = next
	}
	return out
}

// pairs sets two inputs wrong at once (a wrong type, a null, a too long or malformed
// value), for the order of the issues and the first one.
func (g *caseGen) pairs() {
	wrong := func(in *Input) []any {
		switch in.Kind {
		case List:
			return []any{5, []any{nil}, list(max(in.Max, 1)+1, "x")}
		case Object:
			if in.Fields != nil {
				return []any{"x", map[string]any{in.Fields[0].Name: 5}}
			}
			return []any{"x", map[string]any{"k": 5}}
		case Enum:
			return []any{5, "nope"}
		}
		if in.Max > 0 {
			return []any{5, nil, strings.Repeat("a", in.Max+1), ""}
		}
		return []any{5, nil, "", []any{}}
	}
	inputs := g.action.Inputs
	for i := range inputs {
		for j := i + 1; j < len(inputs); j++ {
			wi, wj := wrong(&inputs[i]), wrong(&inputs[j])
			for k := 0; k < 2; k++ {
				g.add("order", g.with(inputs[i].Name, wi[k%len(wi)], inputs[j].Name, wj[(k+1)%len(wj)]))
			}
		}
	}
	// and three (fewer combinations for an action with many inputs)
	short := func(vals []any) []any {
		return slices.DeleteFunc(slices.Clone(vals), func(v any) bool { s, ok := v.(string); return ok && len(s) > 100 })
	}
	variants := 3
	if len(inputs) > 8 {
		variants = 1
	}
	for i := range inputs {
		for j := i + 1; j < len(inputs); j++ {
			for k := j + 1; k < len(inputs); k++ {
				wi, wj, wk := short(wrong(&inputs[i])), short(wrong(&inputs[j])), short(wrong(&inputs[k]))
				for n := 0; n < variants; n++ {
					g.add("order", g.with(inputs[i].Name, wi[(n+2)%len(wi)], inputs[j].Name, wj[n%len(wj)], inputs[k].Name, wk[(n+1)%len(wk)]))
				}
			}
		}
	}
	// everything wrong at once, and an empty input
	all := map[string]any{}
	for i := range inputs {
		all[inputs[i].Name] = wrong(&inputs[i])[0]
	}
	g.add("order", all)
	g.add("order", map[string]any{})
}

// records tries the records (metadata, brand_identity_json): 16 and 17 keys, a __proto__
// key, integer keys, and bad values.
func (g *caseGen) records() {
	for i := range g.action.Inputs {
		in := &g.action.Inputs[i]
		if in.Kind != Object || in.Fields != nil {
			continue
		}
		keys := func(n int) map[string]any {
			m := map[string]any{}
			for k := 0; k < n; k++ {
				m[fmt.Sprintf("k%02d", k)] = "v"
			}
			return m
		}
		for _, m := range []map[string]any{
			keys(16), keys(17), with(keys(16), "__proto__", "x"), with(keys(17), "__proto__", "x"),
			{"__proto__": 1}, {"__proto__": nil}, {"__proto__": strings.Repeat("a", 501)},
			{"b": 1, "10": 2, "2": 3, "a": nil}, with(keys(17), "k05", 5), with(keys(17), "k05", strings.Repeat("a", 501)),
			{"k": " " + strings.Repeat("a", 500) + " "}, {"k": strings.Repeat("a", 501)}, {"k": ""}, {"k": []any{}},
			{"__proto__": map[string]any{"a": 1}},
		} {
			g.add("proto", g.with(in.Name, m))
		}
	}
}
