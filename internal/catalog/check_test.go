package catalog

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

const jobID = "8177a096-0e0a-4806-a856-80d06bccd834"

func str(n int) string { return strings.Repeat("a", n) }

func list(n int, item any) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = item
	}
	return out
}

func meta(n int) map[string]any {
	m := map[string]any{}
	for i := 0; i < n; i++ {
		m[string(rune('a'+i))] = "v"
	}
	return m
}

const extractNone = "url: At least one input is required: url, logoBase64, or imagesBase64."

func with(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}

// in builds an input from key/value pairs.
func in(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func TestCheck(t *testing.T) {
	edit := func(kv ...any) map[string]any {
		return in(append([]any{"source_job_id", jobID, "prompt", "p"}, kv...)...)
	}
	gen := func(kv ...any) map[string]any { return in(append([]any{"prompt", "p"}, kv...)...) }
	loc := func(kv ...any) map[string]any {
		return in(append([]any{"prompt", "p", "target_culture", "fr", "source_job_id", jobID}, kv...)...)
	}
	// want is "path: message" of each issue, "" for none.
	cases := []struct {
		name, action string
		input        map[string]any
		want         []string
	}{
		// campaigns.generate
		{"generate ok", "campaigns.generate", gen(), nil},
		{"prompt missing", "campaigns.generate", in(), []string{"prompt: Required"}},
		{"prompt null", "campaigns.generate", in("prompt", nil), []string{"prompt: Expected string, received null"}},
		{"prompt number", "campaigns.generate", in("prompt", 3), []string{"prompt: Expected string, received number"}},
		{"prompt blank", "campaigns.generate", in("prompt", "   "), []string{"prompt: String must contain at least 1 character(s)"}},
		{"prompt 5000", "campaigns.generate", in("prompt", str(5000)), nil},
		{"prompt 5001", "campaigns.generate", in("prompt", str(5001)), []string{"prompt: String must contain at most 5000 character(s)"}},
		{"prompt 5000 padded", "campaigns.generate", in("prompt", "  "+str(5000)+"  "), nil},
		{"prompt counts utf16", "campaigns.generate", in("prompt", strings.Repeat("😀", 2501)), []string{"prompt: String must contain at most 5000 character(s)"}},
		{"refs 6", "campaigns.generate", gen("reference_images", list(6, "https://x.test/a.png")), nil},
		{"refs 7", "campaigns.generate", gen("reference_images", list(7, "https://x.test/a.png")), []string{"reference_images: Array must contain at most 6 element(s)"}},
		{"refs empty item", "campaigns.generate", gen("reference_images", []any{"https://x.test/a.png", ""}), []string{"reference_images.1: String must contain at least 1 character(s)"}},
		{"refs data url", "campaigns.generate", gen("reference_images", []any{"data:image/png;base64,iVBORw0K"}), nil},
		{"refs base64", "campaigns.generate", gen("reference_images", []any{"iVBORw0KGgo="}), nil},
		// The schema takes any non-empty string (src/contracts/campaign-ads-api.ts): an http URL
		// passes it, and Notes says the image code will decode it as base64.
		{"refs http", "campaigns.generate", gen("reference_images", []any{"http://x.test/a.png"}), nil},
		{"refs blank item", "campaigns.generate", gen("reference_images", []any{" "}), nil},
		{"refs not list", "campaigns.generate", gen("reference_images", "https://x.test/a.png"), []string{"reference_images: Expected array, received string"}},
		{"refs number item", "campaigns.generate", gen("reference_images", []any{1}), []string{"reference_images.0: Expected string, received number"}},
		{"brand_id", "campaigns.generate", gen("brand_id", jobID), nil},
		{"brand_id bad", "campaigns.generate", gen("brand_id", "brand-1"), []string{"brand_id: Invalid uuid"}},
		{"brand identity text", "campaigns.generate", gen("brand_identity_json", "text"), []string{"brand_identity_json: Expected object, received string"}},
		{"brand identity object", "campaigns.generate", gen("brand_identity_json", map[string]any{"name": "x"}), nil},
		{"aspect ok", "campaigns.generate", gen("output", map[string]any{"aspect_ratio": "21:9", "resolution": "4K", "thinking_intensity": "high"}), nil},
		// aspect_ratio is z.union([z.literal("auto"), z.enum(FLASH_ASPECT_RATIOS)]).
		{"aspect 7:3", "campaigns.generate", gen("output", map[string]any{"aspect_ratio": "7:3"}), []string{"output.aspect_ratio: Invalid input"}},
		{"aspect null", "campaigns.generate", gen("output", map[string]any{"aspect_ratio": nil}), []string{"output.aspect_ratio: Invalid input"}},
		{"resolution null", "campaigns.generate", gen("output", map[string]any{"resolution": nil}), []string{"output.resolution: Expected '512' | '1K' | '2K' | '4K', received null"}},
		{"brand_id null", "campaigns.generate", gen("brand_id", nil), []string{"brand_id: Expected string, received null"}},
		{"output null", "campaigns.generate", gen("output", nil), []string{"output: Expected object, received null"}},
		{"refs null item", "campaigns.generate", gen("reference_images", []any{nil}), []string{"reference_images.0: Expected string, received null"}},
		{"identity array", "campaigns.generate", gen("brand_identity_json", []any{}), []string{"brand_identity_json: Expected object, received array"}},
		{"resolution 8K", "campaigns.generate", gen("output", map[string]any{"resolution": "8K"}), []string{"output.resolution: Invalid enum value. Expected '512' | '1K' | '2K' | '4K', received '8K'"}},
		{"resolution number", "campaigns.generate", gen("output", map[string]any{"resolution": 512}), []string{"output.resolution: Expected '512' | '1K' | '2K' | '4K', received number"}},
		{"thinking max", "campaigns.generate", gen("output", map[string]any{"thinking_intensity": "max"}), []string{"output.thinking_intensity: Invalid enum value. Expected 'minimal' | 'high', received 'max'"}},
		{"output not object", "campaigns.generate", gen("output", "1:1"), []string{"output: Expected object, received string"}},
		{"output unknown key dropped", "campaigns.generate", gen("output", map[string]any{"format": "png"}), nil},
		{"client ref blank", "campaigns.generate", gen("client_reference_id", " "), []string{"client_reference_id: String must contain at least 1 character(s)"}},
		{"client ref 200", "campaigns.generate", gen("client_reference_id", str(200)), nil},
		{"client ref 201", "campaigns.generate", gen("client_reference_id", str(201)), []string{"client_reference_id: String must contain at most 200 character(s)"}},
		{"metadata 16", "campaigns.generate", gen("metadata", meta(16)), nil},
		{"metadata 17", "campaigns.generate", gen("metadata", meta(17)), []string{"metadata: metadata may contain at most 16 keys."}},
		{"metadata 16 and __proto__", "campaigns.generate", gen("metadata", with(meta(16), "__proto__", "x")), nil},
		{"metadata __proto__ checked", "campaigns.generate", gen("metadata", map[string]any{"__proto__": 1}), []string{"metadata.__proto__: Expected string, received number"}},
		{"metadata 17 and a bad value", "campaigns.generate", gen("metadata", with(meta(17), "z", 1)), []string{"metadata.z: Expected string, received number"}},
		{"metadata integer keys first", "campaigns.generate", gen("metadata", map[string]any{"a": 1, "10": 1, "2": 1}), []string{"metadata.2: Expected string, received number", "metadata.10: Expected string, received number", "metadata.a: Expected string, received number"}},
		{"metadata null value", "campaigns.generate", gen("metadata", map[string]any{"k": nil}), []string{"metadata.k: Expected string, received null"}},
		{"metadata number", "campaigns.generate", gen("metadata", map[string]any{"batch": 3}), []string{"metadata.batch: Expected string, received number"}},
		{"metadata 500", "campaigns.generate", gen("metadata", map[string]any{"k": str(500)}), nil},
		{"metadata 501", "campaigns.generate", gen("metadata", map[string]any{"k": str(501)}), []string{"metadata.k: String must contain at most 500 character(s)"}},
		{"metadata 500 padded", "campaigns.generate", gen("metadata", map[string]any{"k": " " + str(500) + " "}), nil},
		{"metadata empty value", "campaigns.generate", gen("metadata", map[string]any{"k": ""}), nil},
		{"unknown key", "campaigns.generate", gen("colour", "red"), nil},
		{"issues in server order", "campaigns.generate", in("metadata", map[string]any{"a": 1}, "output", map[string]any{"resolution": "8K"}, "brand_id", "x"),
			[]string{"prompt: Required", "brand_id: Invalid uuid", "output.resolution: Invalid enum value. Expected '512' | '1K' | '2K' | '4K', received '8K'", "metadata.a: Expected string, received number"}},
		{"unknown value skipped", "campaigns.generate", in("prompt", Unknown{}, "reference_images", Unknown{}), nil},

		// campaigns.edit
		{"edit ok", "campaigns.edit", edit(), nil},
		{"edit no prompt", "campaigns.edit", in("source_job_id", jobID), []string{"prompt: Required"}},
		{"edit no source", "campaigns.edit", in("prompt", "p"), []string{"source_job_id: Required"}},
		{"edit bad source", "campaigns.edit", in("prompt", "p", "source_job_id", "job-1"), []string{"source_job_id: Invalid uuid"}},
		{"edit brand identity dropped", "campaigns.edit", edit("brand_identity_json", "text"), nil},
		{"edit refs 7", "campaigns.edit", edit("reference_images", list(7, "aGk=")), []string{"reference_images: Array must contain at most 6 element(s)"}},

		// campaigns.localize_ad
		{"localize ok", "campaigns.localize_ad", loc(), nil},
		{"localize missing", "campaigns.localize_ad", in("source_job_id", jobID), []string{"prompt: Required", "target_culture: Required"}},
		{"localize both sources", "campaigns.localize_ad", loc("source_image_url", "https://x.test/a.png"), []string{"source_image_url: Provide exactly one of source_image_url or source_job_id."}},
		{"localize no source", "campaigns.localize_ad", in("prompt", "p", "target_culture", "fr"), []string{"source_image_url: Provide exactly one of source_image_url or source_job_id."}},
		// The group tests the parsed values' truthiness (src/contracts/campaign-localize-api.ts).
		{"localize empty job id and an image", "campaigns.localize_ad", in("prompt", "p", "target_culture", "fr", "source_job_id", "", "source_image_url", "aGk="), []string{"source_job_id: Invalid uuid"}},
		{"localize both wrong", "campaigns.localize_ad", in("prompt", "p", "target_culture", "fr", "source_job_id", "x", "source_image_url", " "), []string{"source_image_url: String must contain at least 1 character(s)", "source_job_id: Invalid uuid"}},
		{"localize null source stops the group", "campaigns.localize_ad", in("prompt", "p", "target_culture", "fr", "source_job_id", nil), []string{"source_job_id: Expected string, received null"}},
		{"localize padded image", "campaigns.localize_ad", in("prompt", "p", "target_culture", "fr", "source_image_url", " https://cdn.example.com/a.png"), nil},
		{"localize group after type issue", "campaigns.localize_ad", in("prompt", 1, "target_culture", "fr"), []string{"prompt: Expected string, received number"}},
		{"localize group after length issue", "campaigns.localize_ad", in("prompt", "", "target_culture", "fr"), []string{"prompt: String must contain at least 1 character(s)", "source_image_url: Provide exactly one of source_image_url or source_job_id."}},
		{"localize data url", "campaigns.localize_ad", in("prompt", "p", "target_culture", "fr", "source_image_url", "data:image/png;base64,iVBORw0KGgo="), nil},
		{"localize raw base64", "campaigns.localize_ad", in("prompt", "p", "target_culture", "fr", "source_image_url", "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"), nil},
		{"localize source blank", "campaigns.localize_ad", in("prompt", "p", "target_culture", "fr", "source_image_url", "  "), []string{"source_image_url: String must contain at least 1 character(s)", "source_image_url: Provide exactly one of source_image_url or source_job_id."}},
		{"localize source 20000", "campaigns.localize_ad", in("prompt", "p", "target_culture", "fr", "source_image_url", str(20000)), nil},
		{"localize source 20001", "campaigns.localize_ad", in("prompt", "p", "target_culture", "fr", "source_image_url", str(20001)), []string{"source_image_url: String must contain at most 20000 character(s)"}},
		{"localize source not image", "campaigns.localize_ad", in("prompt", "p", "target_culture", "fr", "source_image_url", "ad.png"), nil},
		{"culture 200", "campaigns.localize_ad", loc("target_culture", str(200)), nil},
		{"culture 201", "campaigns.localize_ad", loc("target_culture", str(201)), []string{"target_culture: String must contain at most 200 character(s)"}},
		{"culture blank", "campaigns.localize_ad", loc("target_culture", "\t"), []string{"target_culture: String must contain at least 1 character(s)"}},
		{"language 64", "campaigns.localize_ad", loc("target_language", str(64)), nil},
		{"language 65", "campaigns.localize_ad", loc("target_language", str(65)), []string{"target_language: String must contain at most 64 character(s)"}},
		{"currency 16", "campaigns.localize_ad", loc("target_currency", str(16)), nil},
		{"currency 17", "campaigns.localize_ad", loc("target_currency", str(17)), []string{"target_currency: String must contain at most 16 character(s)"}},
		{"currency blank", "campaigns.localize_ad", loc("target_currency", " "), []string{"target_currency: String must contain at least 1 character(s)"}},
		{"localize refs 5", "campaigns.localize_ad", loc("reference_images", list(5, "aGk=")), nil},
		{"localize refs 6", "campaigns.localize_ad", loc("reference_images", list(6, "aGk=")), []string{"reference_images: Array must contain at most 5 element(s)"}},
		{"localize source unknown", "campaigns.localize_ad", in("prompt", "p", "target_culture", "fr", "source_job_id", Unknown{}), nil},

		// brands.extract
		{"extract url", "brands.extract", in("url", "https://example.com"), nil},
		{"extract any scheme", "brands.extract", in("url", "ftp://example.com/x"), nil},
		{"extract no scheme", "brands.extract", in("url", "example.com"), []string{"url: Invalid url"}},
		{"extract space in path", "brands.extract", in("url", " https://example.com/a b "), nil},
		{"extract space in host", "brands.extract", in("url", "https://exa mple.com"), []string{"url: Invalid url"}},
		{"extract no host", "brands.extract", in("url", "https://"), []string{"url: Invalid url"}},
		{"extract port 65535", "brands.extract", in("url", "https://x.test:65535/"), nil},
		{"extract port 65536", "brands.extract", in("url", "https://x.test:65536/"), []string{"url: Invalid url"}},
		{"extract opaque", "brands.extract", in("url", "mailto:brand@example.com"), nil},
		{"extract nothing", "brands.extract", in(), []string{extractNone}},
		{"extract empty images", "brands.extract", in("imagesBase64", []any{}), []string{extractNone}},
		{"extract images", "brands.extract", in("imagesBase64", []any{"aGk="}), nil},
		{"extract empty image", "brands.extract", in("imagesBase64", []any{""}), []string{"imagesBase64.0: String must contain at least 1 character(s)"}},
		// The refine tests truthiness (src/lib/brand-extraction.ts): an empty logo is not given.
		{"extract logo empty", "brands.extract", in("logoBase64", ""), []string{"logoBase64: String must contain at least 1 character(s)", extractNone}},
		{"extract url empty", "brands.extract", in("url", ""), []string{"url: Invalid url", extractNone}},
		{"extract url null", "brands.extract", in("url", nil), []string{"url: Expected string, received null"}},
		{"extract country null", "brands.extract", in("url", "https://a.test", "location", map[string]any{"country": nil}), []string{"location.country: Expected string, received null"}},
		// WHATWG URL rules (issue 19's cases; TestParseWebURLGolden has the rest).
		{"extract ipv4 over 255", "brands.extract", in("url", "https://999.1.1.1"), []string{"url: Invalid url"}},
		{"extract forbidden host", "brands.extract", in("url", "https://a<b.com"), []string{"url: Invalid url"}},
		{"extract no slashes", "brands.extract", in("url", "http:example.com"), nil},
		{"extract percent host", "brands.extract", in("url", "https://ex%41mple.com"), nil},
		{"country FR", "brands.extract", in("url", "https://x.fr", "location", map[string]any{"country": "FR", "languages": []any{"fr"}}), nil},
		{"country FRA", "brands.extract", in("url", "https://x.fr", "location", map[string]any{"country": "FRA"}), []string{"location.country: String must contain exactly 2 character(s)"}},
		{"country F", "brands.extract", in("url", "https://x.fr", "location", map[string]any{"country": "F"}), []string{"location.country: String must contain exactly 2 character(s)"}},
		{"language f", "brands.extract", in("url", "https://x.fr", "location", map[string]any{"languages": []any{"fr", "f"}}), []string{"location.languages.1: String must contain at least 2 character(s)"}},

		// local actions
		{"shell script", "shell.run", in("script", "echo hi"), nil},
		{"shell both", "shell.run", in("script", "echo hi", "command", []any{"echo"}), []string{"command: Provide exactly one of command or script"}},
		{"shell empty command", "shell.run", in("command", []any{}), []string{"command: Array must contain at least 1 element(s)", "command: Provide exactly one of command or script"}},
		{"http ok", "http.request", in("url", "https://x.test", "expect_status", 200), nil},
		{"http no url", "http.request", in(), []string{"url: Required"}},
		{"http status float", "http.request", in("url", "https://x.test", "expect_status", 200.5), []string{"expect_status: Expected integer, received float"}},
		{"http ftp", "http.request", in("url", "ftp://x.test"), []string{"url: Invalid url: expected http or https"}},

		{"unknown action", "video.render", in(), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []string
			for _, is := range Check(c.action, c.input) {
				got = append(got, is.PathString()+": "+is.Message)
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("Check(%s):\n got %q\nwant %q", c.action, got, c.want)
			}
		})
	}
}

func TestParseKeepsWhatTheServerKeeps(t *testing.T) {
	out, issues := Parse("campaigns.edit", map[string]any{
		"source_job_id": jobID, "prompt": "  brighter  ", "brand_identity_json": map[string]any{}, "colour": "red",
	})
	if len(issues) != 0 {
		t.Fatal(issues)
	}
	want := `{"prompt":"brighter","source_job_id":"` + jobID + `"}`
	if b, _ := json.Marshal(out); string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
}

// The issue list of a failed step is zod's, byte for byte (fixture from the server).
func TestZodMessageMatchesFixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/runs-get-step-invalid-input.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Data struct {
			Steps []struct{ Error *string } `json:"steps"`
		} `json:"data"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	want := *doc.Data.Steps[1].Error
	got := ZodMessage(Check("campaigns.edit", map[string]any{"source_job_id": jobID}))
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	issues, ok := ParseZodMessage(got)
	if !ok || len(issues) != 1 || issues[0].PathString() != "prompt" || issues[0].Message != "Required" {
		t.Errorf("ParseZodMessage: %v %v", issues, ok)
	}
	if _, ok := ParseZodMessage("child_job_failed"); ok {
		t.Error("plain text read as zod issues")
	}
}

func TestEnumIssueMatchesFixture(t *testing.T) {
	raw, err := os.ReadFile("testdata/error-400-invalid-request-body.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Error struct {
			Message string            `json:"message"`
			Param   string            `json:"param"`
			Issues  []json.RawMessage `json:"issues"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	issues := Check("campaigns.generate", map[string]any{"prompt": "p", "output": map[string]any{"resolution": "8K"}})
	if len(issues) != 1 {
		t.Fatal(issues)
	}
	got, _ := json.Marshal(issues[0])
	var want, have any
	_ = json.Unmarshal(doc.Error.Issues[0], &want)
	_ = json.Unmarshal(got, &have)
	wb, _ := json.Marshal(want)
	hb, _ := json.Marshal(have)
	if string(wb) != string(hb) || issues[0].Message != doc.Error.Message || issues[0].PathString() != doc.Error.Param {
		t.Errorf("got %s (%s), want %s (%s)", hb, issues[0].PathString(), wb, doc.Error.Param)
	}
}

func TestStepResult(t *testing.T) {
	brand := StepResult(JobBrandExtraction, jobID, "brands/"+jobID, nil)
	if brand["brand_id"] != jobID || brand["result_url"] != "brands/"+jobID {
		t.Errorf("extraction: %v", brand)
	}
	if r := StepResult(JobBrandExtraction, jobID, "elsewhere", nil); r["brand_id"] != nil {
		t.Errorf("brand_id from another result_url: %v", r)
	}
	ad := StepResult(JobAdEdit, jobID, "https://a.test/x.png", map[string]any{"image_url": "https://a.test/x.png"})
	if ad["image_url"] != "https://a.test/x.png" || ad["job_id"] != jobID {
		t.Errorf("ad: %v", ad)
	}
	// Every Pi action's result field says where it comes from; every field StepResult sets
	// is a declared result field of the action, and back.
	for _, a := range Server() {
		for _, f := range a.Result {
			if f.From == "" {
				t.Errorf("%s.%s: no From", a.Name, f.Name)
			}
		}
		r := StepResult(a.JobType, jobID, "brands/"+jobID, map[string]any{"image_url": "u"})
		if len(r) != len(a.Result) {
			t.Errorf("%s: result %v, fields %v", a.Name, r, a.ResultNames())
		}
		for k := range r {
			if _, ok := a.Field(k); !ok {
				t.Errorf("%s: result field %s not in the catalog", a.Name, k)
			}
		}
	}
}

func TestAccepts(t *testing.T) {
	gen, _ := Lookup("campaigns.generate")
	refs, _ := gen.Input("reference_images")
	brand, _ := gen.Input("brand_id")
	if Accepts(refs, String) {
		t.Error("a string fills a list")
	}
	if !Accepts(brand, UUID) || !Accepts(refs, Any) || !Accepts(refs, List) {
		t.Error("compatible kinds refused")
	}
	if Accepts(brand, String) {
		t.Error("any string fills a uuid")
	}
}

func TestCatalogIsConsistent(t *testing.T) {
	seen := map[string]bool{}
	for _, a := range All() {
		if seen[a.Name] {
			t.Errorf("%s twice", a.Name)
		}
		seen[a.Name] = true
		if a.Description == "" || len(a.Result) == 0 {
			t.Errorf("%s: no description or result", a.Name)
		}
		if a.Contract < 1 {
			t.Errorf("%s: no contract version (the step cache keys results by it)", a.Name)
		}
		if a.Local != (a.Endpoint == "") || a.Local != (a.JobType == "") {
			t.Errorf("%s: a local action has no endpoint and no job type, a Pi action both", a.Name)
		}
		for _, in := range a.Inputs {
			if in.Description == "" {
				t.Errorf("%s.%s: no description", a.Name, in.Name)
			}
		}
		for _, g := range a.Groups {
			if _, ok := a.Input(g.Path); !ok {
				t.Errorf("%s: group reported on unknown input %s", a.Name, g.Path)
			}
			for _, k := range g.Inputs {
				if _, ok := a.Input(k); !ok {
					t.Errorf("%s: group names unknown input %s", a.Name, k)
				}
			}
		}
		for _, typ := range a.SourceJobTypes {
			if _, ok := ByJobType(typ); !ok {
				t.Errorf("%s: source job type %s is no action's", a.Name, typ)
			}
		}
		if len(a.SourceJobTypes) > 0 {
			if _, ok := a.Input("source_job_id"); !ok {
				t.Errorf("%s: source job types without source_job_id", a.Name)
			}
		}
	}
}
