package pipeline

import "sort"

// Where an action can run.
const (
	RunsAnywhere  = "server, local" // a Pi action: the Runs API and the local engine
	RunsLocalOnly = "local"         // only the local engine (--local)
)

// ActionSpec describes one action: what it needs, what it returns and how it is executed.
// It is data shared by validation, `pi actions`, the executors and the simulated server.
type ActionSpec struct {
	Name        string
	Description string
	// Endpoint is the action's own API route ("" for local actions), JobType the `type` of
	// the job it creates.
	Endpoint string
	JobType  string
	Local    bool // only the local engine runs it
	Required []string
	Optional []string
	// OneOf lists groups of inputs of which exactly one must be given (at least one, when
	// AtLeastOne is set instead of exactly one).
	OneOf        [][]string
	AtLeastOne   bool
	ResultFields []string
}

// Runs says where the action can run.
func (a *ActionSpec) Runs() string {
	if a.Local {
		return RunsLocalOnly
	}
	return RunsAnywhere
}

// Knows reports whether key is one of the action's inputs.
func (a *ActionSpec) Knows(key string) bool {
	for _, list := range [][]string{a.Required, a.Optional} {
		for _, k := range list {
			if k == key {
				return true
			}
		}
	}
	for _, g := range a.OneOf {
		for _, k := range g {
			if k == key {
				return true
			}
		}
	}
	return false
}

var adOutputs = []string{"output", "client_reference_id", "metadata"}

var catalog = []ActionSpec{
	{
		Name:         "brands.extract",
		Description:  "Extract a brand (identity, logo, colours) from a website, a logo or images",
		Endpoint:     "/api/v1/brands/extract",
		JobType:      "brand_extraction",
		OneOf:        [][]string{{"url", "logoBase64", "imagesBase64"}},
		AtLeastOne:   true,
		Optional:     []string{"location"},
		ResultFields: []string{"job_id", "brand_id", "result_url"},
	},
	{
		Name:         "campaigns.generate",
		Description:  "Generate a campaign ad image from a prompt, optionally on-brand",
		Endpoint:     "/api/v1/campaigns/generate",
		JobType:      "campaign_ad_generation",
		Required:     []string{"prompt"},
		Optional:     append([]string{"reference_images", "brand_id", "brand_identity_json"}, adOutputs...),
		ResultFields: []string{"job_id", "image_url", "result_url"},
	},
	{
		Name:         "campaigns.edit",
		Description:  "Edit an ad made by a generate or edit job",
		Endpoint:     "/api/v1/campaigns/edit",
		JobType:      "campaign_ad_edit",
		Required:     []string{"source_job_id"},
		Optional:     append([]string{"prompt", "reference_images", "brand_id", "brand_identity_json"}, adOutputs...),
		ResultFields: []string{"job_id", "image_url", "result_url"},
	},
	{
		Name:         "campaigns.localize_ad",
		Description:  "Adapt an ad to another culture, language and currency",
		Endpoint:     "/api/v1/campaigns/localize-ad",
		JobType:      "campaign_ad_localization",
		Required:     []string{"prompt", "target_culture"},
		OneOf:        [][]string{{"source_job_id", "source_image_url"}},
		Optional:     append([]string{"target_language", "target_currency", "brand_id", "reference_images"}, adOutputs...),
		ResultFields: []string{"job_id", "image_url", "result_url"},
	},
	{
		Name:         "shell.run",
		Description:  "Run a local command (argv list) or a script (sh -c)",
		Local:        true,
		OneOf:        [][]string{{"command", "script"}},
		Optional:     []string{"env", "dir", "stdin"},
		ResultFields: []string{"stdout", "stderr", "exit_code"},
	},
	{
		Name:         "http.request",
		Description:  "Make an HTTP request from this machine",
		Local:        true,
		Required:     []string{"url"},
		Optional:     []string{"method", "headers", "json", "body", "expect_status"},
		ResultFields: []string{"status", "headers", "json", "body"},
	},
}

// Actions returns a copy of the catalog, sorted by name.
func Actions() []ActionSpec {
	out := append([]ActionSpec(nil), catalog...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// LookupAction returns the spec of the named action.
func LookupAction(name string) (*ActionSpec, bool) {
	for i := range catalog {
		if catalog[i].Name == name {
			return &catalog[i], true
		}
	}
	return nil, false
}
