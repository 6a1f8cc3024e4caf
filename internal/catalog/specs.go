package catalog

// Job types of the Pi actions (PI-API.md, "Actions as their own endpoints").
const (
	JobBrandExtraction = "brand_extraction"
	JobAdGeneration    = "campaign_ad_generation"
	JobAdEdit          = "campaign_ad_edit"
	JobAdLocalization  = "campaign_ad_localization"
)

// AspectRatios, Resolutions and ThinkingIntensities are the server's enums of `output`.
var (
	AspectRatios        = []string{"auto", "1:1", "1:4", "1:8", "2:3", "3:2", "3:4", "4:1", "4:3", "4:5", "5:4", "8:1", "9:16", "16:9", "21:9"}
	Resolutions         = []string{"512", "1K", "2K", "4K"}
	ThinkingIntensities = []string{"minimal", "high"}
)

// Limits of the input contracts.
const (
	MaxPrompt          = 5000
	MaxClientRef       = 200
	MaxTargetCulture   = 200
	MaxTargetLanguage  = 64
	MaxTargetCurrency  = 16
	MaxSourceImageURL  = 20000
	MaxMetadataKeys    = 16
	MaxMetadataValue   = 500
	MaxReferenceImages = 6
	MaxLocalizeRefs    = 5
)

func prompt(desc string) Input {
	return Input{Name: "prompt", Kind: String, Required: true, Trim: true, Min: 1, Max: MaxPrompt, Description: desc}
}

func referenceImages(max int) Input {
	return Input{Name: "reference_images", Kind: List, Max: max,
		Item:        &Input{Kind: Image, Min: 1},
		Description: "Images to take inspiration from: https URLs, base64 or data: URLs"}
}

var brandID = Input{Name: "brand_id", Kind: UUID,
	Description: "Uuid of an extracted brand, usually $steps.<extract>.result.brand_id in input_map"}

var output = Input{Name: "output", Kind: Object, Description: "Output settings", Fields: []Input{
	{Name: "aspect_ratio", Kind: Enum, Enum: AspectRatios, Union: "auto", Description: "Aspect ratio of the image"},
	{Name: "resolution", Kind: Enum, Enum: Resolutions, Description: "Resolution of the image"},
	{Name: "thinking_intensity", Kind: Enum, Enum: ThinkingIntensities, Description: "How hard the model thinks"},
}}

var clientReferenceID = Input{Name: "client_reference_id", Kind: String, Trim: true, Min: 1, Max: MaxClientRef,
	Description: "Your own reference, returned with the job"}

var metadata = Input{Name: "metadata", Kind: Object, Max: MaxMetadataKeys, TooMany: "metadata may contain at most 16 keys.",
	Values:      &Input{Kind: String, Trim: true, Max: MaxMetadataValue},
	Description: "Data stored with the job: string values"}

var sourceJobID = Input{Name: "source_job_id", Kind: UUID,
	Description: "Uuid of a completed generate or edit job, usually $steps.<step>.result.job_id in input_map"}

var adResult = []Field{
	{Name: "job_id", Kind: UUID, Description: "The job's id", From: "job_id", Role: RoleJob},
	{Name: "image_url", Kind: String, Nullable: true, Description: "Public URL of the image", From: "payload.image_url", Role: RoleImage},
	{Name: "result_url", Kind: String, Nullable: true, Description: "The job's result_url: the same public URL", From: "result_url"},
}

// adFake is a finished ad job: its image in payload.image_url and as result_url.
var adFake = []Made{{To: "payload.image_url", Role: RoleImage}, {To: "result_url", Role: RoleImage}}

var adSources = []string{JobAdGeneration, JobAdEdit}

var noInlineBrand = []DroppedKey{
	{"brand_identity_json", "only campaigns.generate takes an inline brand; use brand_id"},
}

var actions = []Action{
	{
		Name:        "brands.extract",
		Description: "Extract a brand (identity, logo, colours) from a website, a logo or images",
		Endpoint:    "/api/v1/brands/extract",
		JobType:     JobBrandExtraction,
		Contract:    1,
		Inputs: []Input{
			{Name: "url", Kind: URL, Description: "Website URL"},
			{Name: "logoBase64", Kind: String, Min: 1, Description: "The logo image, base64-encoded"},
			{Name: "imagesBase64", Kind: List, Item: &Input{Kind: String, Min: 1}, Description: "Images of the brand, base64-encoded"},
			{Name: "location", Kind: Object, Description: "Market of the brand", Fields: []Input{
				{Name: "country", Kind: String, Min: 2, Max: 2, Description: "Country code, 2 characters"},
				{Name: "languages", Kind: List, Item: &Input{Kind: String, Min: 2}, Description: "Language codes, at least 2 characters each"},
			}},
		},
		// A non-empty imagesBase64 counts; the server reports the issue on url.
		Groups: []Group{{Inputs: []string{"url", "logoBase64", "imagesBase64"}, Path: "url",
			Text: "At least one input is required: url, logoBase64, or imagesBase64."}},
		Result: []Field{
			{Name: "job_id", Kind: UUID, Description: "The job's id", From: "job_id", Role: RoleJob},
			{Name: "brand_id", Kind: UUID, Nullable: true, Description: "The brand's id, from a result_url brands/<uuid>", From: "result_url:brands/", Role: RoleBrand},
			{Name: "result_url", Kind: String, Nullable: true, Description: "brands/<uuid>", From: "result_url"},
		},
		Fake: []Made{{To: "payload.brand_id", Role: RoleBrand}, {To: "result_url", Role: RoleBrand, Prefix: "brands/"}},
	},
	{
		Name:           "campaigns.generate",
		Description:    "Generate a campaign ad image from a prompt, optionally on-brand",
		Endpoint:       "/api/v1/campaigns/generate",
		JobType:        JobAdGeneration,
		Contract:       1,
		Idempotent:     true,
		IssuesInErrors: true,
		Inputs: []Input{
			prompt("What to create"),
			referenceImages(MaxReferenceImages),
			brandID,
			{Name: "brand_identity_json", Kind: Object, Description: "A brand identity written inline (name, colours, fonts, tone...), instead of brand_id"},
			output, clientReferenceID, metadata,
		},
		Result: adResult,
		Fake:   adFake,
	},
	{
		Name:           "campaigns.edit",
		Description:    "Edit an ad made by a generate or edit job",
		Endpoint:       "/api/v1/campaigns/edit",
		JobType:        JobAdEdit,
		Contract:       1,
		Idempotent:     true,
		IssuesInErrors: true,
		Inputs: []Input{
			withRequired(sourceJobID),
			prompt("What to change"),
			referenceImages(MaxReferenceImages),
			brandID, output, clientReferenceID, metadata,
		},
		Result:         adResult,
		Fake:           adFake,
		SourceJobTypes: adSources,
		Dropped:        noInlineBrand,
	},
	{
		Name:           "campaigns.localize_ad",
		Description:    "Adapt an ad to another culture, language and currency",
		Endpoint:       "/api/v1/campaigns/localize-ad",
		JobType:        JobAdLocalization,
		Contract:       1,
		Idempotent:     true,
		IssuesInErrors: true,
		Inputs: []Input{
			prompt("How to adapt the ad"),
			{Name: "source_image_url", Kind: Image, Trim: true, Min: 1, Max: MaxSourceImageURL, Description: "The image to adapt, instead of source_job_id: an https URL, base64 or a data: URL"},
			sourceJobID,
			{Name: "target_culture", Kind: String, Required: true, Trim: true, Min: 1, Max: MaxTargetCulture, Description: "The audience to adapt to (\"French urban premium\")"},
			{Name: "target_language", Kind: String, Trim: true, Min: 1, Max: MaxTargetLanguage, Description: "Language of the text (fr, de, pt-BR...)"},
			{Name: "target_currency", Kind: String, Trim: true, Min: 1, Max: MaxTargetCurrency, Description: "Currency of prices shown (EUR, JPY...)"},
			brandID,
			referenceImages(MaxLocalizeRefs),
			output, clientReferenceID, metadata,
		},
		Groups: []Group{{Inputs: []string{"source_job_id", "source_image_url"}, Exactly: true, Path: "source_image_url",
			Text: "Provide exactly one of source_image_url or source_job_id."}},
		Result:         adResult,
		Fake:           adFake,
		SourceJobTypes: adSources,
		Dropped:        noInlineBrand,
	},
	{
		Name:        "shell.run",
		Description: "Run a local command (argv list) or a script (sh -c)",
		Local:       true,
		Contract:    1,
		Inputs: []Input{
			{Name: "command", Kind: List, Min: 1, Item: &Input{Kind: Any}, Description: "The command as an argv list ([make, assets]; numbers are written as text); no shell"},
			{Name: "script", Kind: String, Description: "A shell script, run with sh -c"},
			{Name: "env", Kind: Object, Values: &Input{Kind: Any}, Description: "Extra environment variables"},
			{Name: "dir", Kind: String, Description: "Working directory"},
			{Name: "stdin", Kind: String, Description: "Text given on standard input"},
		},
		Groups: []Group{{Inputs: []string{"command", "script"}, Exactly: true, Path: "command"}},
		Result: []Field{
			{Name: "stdout", Kind: String, Description: "Standard output"},
			{Name: "stderr", Kind: String, Description: "Standard error"},
			{Name: "exit_code", Kind: Integer, Description: "Exit status"},
		},
	},
	{
		Name:        "http.request",
		Description: "Make an HTTP request from this machine",
		Local:       true,
		Contract:    1,
		Inputs: []Input{
			{Name: "url", Kind: HTTPURL, Required: true, Description: "The URL (http or https)"},
			{Name: "method", Kind: String, Min: 1, Description: "HTTP method (default GET, or POST with a body)"},
			{Name: "headers", Kind: Object, Values: &Input{Kind: Any}, Description: "Request headers"},
			{Name: "json", Kind: Any, Description: "A JSON request body"},
			{Name: "body", Kind: Any, Description: "A raw request body"},
			{Name: "expect_status", Kind: Integer, Description: "The status code that counts as success"},
		},
		Result: []Field{
			{Name: "status", Kind: Integer, Description: "Response status code"},
			{Name: "headers", Kind: Object, Description: "Response headers (lower-case names)"},
			{Name: "json", Kind: Any, Nullable: true, Description: "The decoded body of a JSON response"},
			{Name: "body", Kind: String, Nullable: true, Description: "The body of another response"},
		},
	},
}

func withRequired(in Input) Input {
	in.Required = true
	return in
}
