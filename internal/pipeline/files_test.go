package pipeline

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"gopkg.in/yaml.v3"

	"github.com/pi-cli/pi/internal/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/pipelines/invalid")

const pipelinesDir = "../../testdata/pipelines"

// header holds the directives an invalid file states in its leading comments:
//
//	# rule: what it breaks          (required: one rule per file)
//	# schema: fail                  (structurally invalid: the JSON Schema must reject it)
//	# mode: local                   (validate with --local; default remote)
//	# params: a=1,b=2               (the -p overrides)
type header struct {
	rule       string
	schemaFail bool
	mode       Mode
	params     map[string]string
}

func readHeader(t *testing.T, data []byte) header {
	t.Helper()
	var h header
	for _, line := range strings.Split(string(data), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		key, val, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
		val = strings.TrimSpace(val)
		switch key {
		case "rule":
			h.rule = val
		case "schema":
			h.schemaFail = val == "fail"
		case "mode":
			if val == "local" {
				h.mode = Local
			}
		case "params":
			h.params = map[string]string{}
			for _, kv := range strings.Split(val, ",") {
				k, v, _ := strings.Cut(kv, "=")
				h.params[k] = v
			}
		}
	}
	if h.rule == "" {
		t.Fatalf("no '# rule:' comment at the top")
	}
	return h
}

// check is what `pi validate` does with one file.
func check(name string, data []byte, mode Mode, params map[string]string) Diagnostics {
	_, _, ds, _ := Load(name, Options{Data: data, Mode: mode, Params: params})
	return ds
}

func TestInvalidFiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(pipelinesDir, "invalid", "*.yaml"))
	if len(files) < 30 {
		t.Fatalf("%d invalid files, want at least 30", len(files))
	}
	rules := map[string]string{}
	for _, path := range files {
		name := "invalid/" + filepath.Base(path)
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			h := readHeader(t, data)
			if other, dup := rules[h.rule]; dup {
				t.Errorf("rule %q is also the rule of %s", h.rule, other)
			}
			rules[h.rule] = name
			ds := check(name, data, h.mode, h.params)
			if len(ds) == 0 {
				t.Fatalf("no diagnostics: the file breaks no rule")
			}
			var got bytes.Buffer
			for _, d := range ds {
				got.WriteString(d.String() + "\n")
			}
			golden := strings.TrimSuffix(path, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/pipeline -update)", err)
			}
			if got.String() != string(want) {
				t.Errorf("diagnostics differ from %s:\n got:\n%s\nwant:\n%s", golden, got.String(), want)
			}
		})
	}
}

func validFiles(t *testing.T) map[string]Mode {
	t.Helper()
	out := map[string]Mode{}
	remote, _ := filepath.Glob(filepath.Join(pipelinesDir, "valid", "*.yaml"))
	local, _ := filepath.Glob(filepath.Join(pipelinesDir, "valid", "local", "*.yaml"))
	for _, f := range remote {
		out[f] = Remote
	}
	for _, f := range local {
		out[f] = Local
	}
	if len(remote) < 8 {
		t.Fatalf("%d valid remote files, want at least 8", len(remote))
	}
	return out
}

func TestValidFiles(t *testing.T) {
	for path, mode := range validFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			q, _, ds, err := Load(path, Options{Mode: mode})
			if err != nil {
				t.Fatal(err)
			}
			data, _ := os.ReadFile(path)
			warningsExpected := bytes.HasPrefix(data, []byte("# warnings: expected"))
			if ds.HasErrors() || (len(ds) != 0) != warningsExpected {
				t.Fatalf("want no errors (and warnings only when the file says so), got:\n%s", ds.Error())
			}
			body, err := q.RunsBody()
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(body, []byte("${params.")) && !strings.Contains(path, "params") {
				t.Errorf("unsubstituted param in the body: %s", body)
			}
			if n := len(q.Layers()); n == 0 {
				t.Errorf("no layers")
			}
		})
	}
}

func compileSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(Schema()))
	if err != nil {
		t.Fatalf("schema is not JSON: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(SchemaID, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(SchemaID)
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	return sch
}

// asJSON decodes a YAML file as an editor's language server does (merge keys applied)
// and re-reads it as JSON, the form the schema is written for.
func asJSON(t *testing.T, data []byte) (any, bool) {
	t.Helper()
	var v any
	if err := yaml.Unmarshal(data, &v); err != nil {
		return nil, false
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, false
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst, true
}

// TestSchemaAgreesWithValidator: every valid file passes the schema and every structurally
// invalid one fails it, so the schema cannot drift from the validator.
func TestSchemaAgreesWithValidator(t *testing.T) {
	sch := compileSchema(t)
	for path := range validFiles(t) {
		data, _ := os.ReadFile(path)
		inst, ok := asJSON(t, data)
		if !ok {
			t.Errorf("%s: not decodable", path)
			continue
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s: valid file fails the schema: %v", path, err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(pipelinesDir, "invalid", "*.yaml"))
	structural := 0
	for _, path := range files {
		data, _ := os.ReadFile(path)
		h := readHeader(t, data)
		if !h.schemaFail {
			continue
		}
		structural++
		inst, ok := asJSON(t, data)
		if !ok {
			t.Errorf("%s: structural files must be decodable YAML", path)
			continue
		}
		if err := sch.Validate(inst); err == nil {
			t.Errorf("%s: structurally invalid (%s) but the schema accepts it", path, h.rule)
		}
	}
	if structural < 15 {
		t.Errorf("%d structural invalid files, want at least 15", structural)
	}
}

func TestSchemaHasDescriptions(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatal(err)
	}
	if s["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
		t.Errorf("$schema = %v", s["$schema"])
	}
	stepDef := s["$defs"].(map[string]any)["step"].(map[string]any)
	step := stepDef["properties"].(map[string]any)
	for _, key := range stepKeys {
		prop, ok := step[key].(map[string]any)
		if !ok || prop["description"] == "" || prop["description"] == nil {
			t.Errorf("step key %s has no description in the schema", key)
		}
	}
	// every input of every action has a description, for completion inside input:
	described := 0
	for _, c := range stepDef["allOf"].([]any) {
		then := c.(map[string]any)["then"].(map[string]any)
		props := then["properties"].(map[string]any)["input"].(map[string]any)["properties"].(map[string]any)
		for k, v := range props {
			d, _ := v.(map[string]any)["description"].(string)
			if !strings.HasSuffix(d, ".") || strings.HasSuffix(d, ". ") || len(d) < 15 {
				t.Errorf("input %s: poor description %q", k, d)
			}
			described++
		}
	}
	if described == 0 {
		t.Errorf("no input descriptions")
	}
}

// TestSchemaCoversTheCatalog: the schema names exactly the catalog's actions, and for each
// exactly its inputs (and the fields of its nested objects).
func TestSchemaCoversTheCatalog(t *testing.T) {
	var s map[string]any
	if err := json.Unmarshal(Schema(), &s); err != nil {
		t.Fatal(err)
	}
	stepDef := s["$defs"].(map[string]any)["step"].(map[string]any)
	var names []string
	for _, c := range stepDef["properties"].(map[string]any)["action"].(map[string]any)["anyOf"].([]any) {
		names = append(names, c.(map[string]any)["const"].(string))
	}
	var want []string
	for _, a := range catalog.All() {
		want = append(want, a.Name)
	}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Errorf("schema actions %v, catalog %v", names, want)
	}
	inputs := map[string][]string{}
	for _, c := range stepDef["allOf"].([]any) {
		name := c.(map[string]any)["if"].(map[string]any)["properties"].(map[string]any)["action"].(map[string]any)["const"].(string)
		props := c.(map[string]any)["then"].(map[string]any)["properties"].(map[string]any)["input"].(map[string]any)["properties"].(map[string]any)
		for k, v := range props {
			inputs[name] = append(inputs[name], k)
			if nested, ok := v.(map[string]any)["properties"].(map[string]any); ok {
				for f := range nested {
					inputs[name] = append(inputs[name], k+"."+f)
				}
			}
		}
		sort.Strings(inputs[name])
	}
	for _, a := range catalog.All() {
		var want []string
		for _, in := range a.Inputs {
			want = append(want, in.Name)
			for _, f := range in.Fields {
				want = append(want, in.Name+"."+f.Name)
			}
		}
		sort.Strings(want)
		if strings.Join(inputs[a.Name], ",") != strings.Join(want, ",") {
			t.Errorf("%s: schema inputs %v, catalog %v", a.Name, inputs[a.Name], want)
		}
	}
}

// TestSchemaKeywordsDraft07Compatible: editors' YAML language server validates with draft-07
// semantics, so the schema sticks to keywords that mean the same there ($defs is only
// reached through $ref JSON pointers, which draft-07 resolves too).
func TestSchemaKeywordsDraft07Compatible(t *testing.T) {
	for _, kw := range []string{"unevaluatedProperties", "unevaluatedItems", "prefixItems", "$dynamicRef",
		"$dynamicAnchor", "dependentRequired", "dependentSchemas", "minContains", "maxContains", "$anchor"} {
		if bytes.Contains(Schema(), []byte(`"`+kw+`"`)) {
			t.Errorf("schema uses %s, which draft-07 tools do not understand", kw)
		}
	}
}
