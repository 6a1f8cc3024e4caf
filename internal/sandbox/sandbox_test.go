package sandbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pi-cli/pi/internal/catalog"
)

const testKey = "pi_test_conformance"

// fixtures holds the real server's sample answers (a copy of the project's shared ones).
var fixtures = filepath.Join("testdata", "fixtures")

type client struct {
	t    *testing.T
	base string
	key  string
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func newTestServer(t *testing.T, opts Options) (*Server, *client) {
	t.Helper()
	if opts.APIKey == "" {
		opts.APIKey = testKey
	}
	if opts.Latency == 0 {
		opts.Latency = 10 * time.Millisecond
	}
	hs := httptest.NewUnstartedServer(nil)
	if opts.PublicURL == "" {
		opts.PublicURL = "http://" + hs.Listener.Addr().String()
	}
	s, err := New(opts)
	if err != nil {
		hs.Close()
		t.Fatal(err)
	}
	hs.Config.Handler = s
	hs.Start()
	t.Cleanup(func() {
		s.Drain()
		hs.Close()
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, &client{t: t, base: hs.URL, key: opts.APIKey}
}

func (c *client) do(method, path string, body any) answer {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.send(req)
}

func (c *client) send(req *http.Request) answer {
	c.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	if err := json.Unmarshal(raw, &a.body); err != nil {
		c.t.Fatalf("%s %s: answer is not a JSON object: %v\n%s", req.Method, req.URL, err, raw)
	}
	return a
}

// data returns the envelope's data object.
func (a answer) data() map[string]any {
	d, _ := a.body["data"].(map[string]any)
	return d
}

// errCode returns the error envelope's code, checking its request id on the way.
func (a answer) errCode(t *testing.T) string {
	t.Helper()
	e, ok := a.body["error"].(map[string]any)
	if !ok {
		t.Fatalf("status %d: not an error envelope: %s", a.status, a.raw)
	}
	if id := a.header.Get("X-Request-Id"); !strings.HasPrefix(id, "req_pi_") || e["request_id"] != id {
		t.Errorf("request_id %v, X-Request-Id %q: want equal req_pi_ ids", e["request_id"], id)
	}
	return fmt.Sprint(e["code"])
}

func loadFixture(t *testing.T, name string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	var v map[string]any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// shape lists the key paths of v (array items merged), so two answers compare by form.
func shape(v any, prefix string, out map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out[prefix+"."+k] = true
			shape(e, prefix+"."+k, out)
		}
	case []any:
		for _, e := range x {
			shape(e, prefix+"[]", out)
		}
	}
}

func sameShape(t *testing.T, fixture string, got map[string]any) {
	t.Helper()
	want, have := map[string]bool{}, map[string]bool{}
	shape(loadFixture(t, fixture), "", want)
	shape(got, "", have)
	var missing, extra []string
	for k := range want {
		if !have[k] {
			missing = append(missing, k)
		}
	}
	for k := range have {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing)+len(extra) > 0 {
		t.Errorf("answer differs in shape from %s: missing %v, extra %v", fixture, missing, extra)
	}
}

func TestAuthentication(t *testing.T) {
	_, c := newTestServer(t, Options{})
	tests := []struct {
		name, header, code string
	}{
		{"missing", "", "missing_authorization_header"},
		{"basic", "Basic abc", "invalid_authorization_scheme"},
		{"empty bearer", "Bearer ", "missing_bearer_token"},
		{"wrong key", "Bearer pi_test_other", "unkey_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", c.base+"/api/v1/runs/f027a242-df39-44cb-943a-c9d220ddaebd", nil)
			if tt.header != "" {
				req.Header.Set("Authorization", tt.header)
			}
			a := c.send(req)
			if a.status != http.StatusUnauthorized || a.errCode(t) != tt.code {
				t.Fatalf("got %d %s, want 401 %s", a.status, a.raw, tt.code)
			}
			if tt.code == "missing_authorization_header" {
				sameShape(t, "error-401-missing-authorization.json", a.body)
			}
		})
	}
}

func TestRunCreateErrors(t *testing.T) {
	_, c := newTestServer(t, Options{})
	step := func(id, action string, deps ...string) map[string]any {
		if deps == nil {
			deps = []string{}
		}
		return map[string]any{"id": id, "action": action, "input": map[string]any{"url": "https://example.com"}, "depends_on": deps}
	}
	eleven := []any{}
	for i := range 11 {
		eleven = append(eleven, step(fmt.Sprint("s", i), "brands.extract"))
	}
	tests := []struct {
		name    string
		body    any
		code    string
		message string
	}{
		{"not json", `{"steps": [`, "invalid_json_body", ""},
		{"empty body", ``, "invalid_json_body", ""},
		{"not an object", `[1]`, "invalid_request_body", ""},
		{"no steps", map[string]any{}, "invalid_request_body", ""},
		{"zero steps", map[string]any{"steps": []any{}}, "invalid_request_body", ""},
		{"eleven steps", map[string]any{"steps": eleven}, "invalid_request_body", ""},
		{"unknown action", map[string]any{"steps": []any{step("a", "shell.run")}}, "invalid_request_body", ""},
		{"blank id", map[string]any{"steps": []any{step("  ", "brands.extract")}}, "invalid_request_body", ""},
		{"long id", map[string]any{"steps": []any{step(strings.Repeat("x", 65), "brands.extract")}}, "invalid_request_body", ""},
		{"input not object", map[string]any{"steps": []any{map[string]any{"id": "a", "action": "brands.extract", "input": "x"}}}, "invalid_request_body", ""},
		{"metadata not object", map[string]any{"steps": []any{step("a", "brands.extract")}, "metadata": 3}, "invalid_request_body", ""},
		{"input_map not strings", map[string]any{"steps": []any{map[string]any{"id": "a", "action": "brands.extract", "input_map": map[string]any{"x": 1}}}}, "invalid_request_body", ""},
		{"duplicate", map[string]any{"steps": []any{step("a", "brands.extract"), step("a", "brands.extract")}}, "invalid_run_dag", "duplicate_step_id:a"},
		{"unknown dependency", map[string]any{"steps": []any{step("a", "brands.extract", "zz")}}, "invalid_run_dag", "unknown_dependency:zz"},
		{"self dependency", map[string]any{"steps": []any{step("a", "brands.extract", "a")}}, "invalid_run_dag", "self_dependency:a"},
		{"cycle", map[string]any{"steps": []any{step("a", "brands.extract", "c"), step("b", "campaigns.generate", "a"), step("c", "campaigns.edit", "b")}}, "invalid_run_dag", "dependency_cycle:a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := c.do("POST", "/api/v1/runs", tt.body)
			if a.status != http.StatusBadRequest || a.errCode(t) != tt.code {
				t.Fatalf("got %d %s, want 400 %s", a.status, a.raw, tt.code)
			}
			if tt.message != "" {
				if got := a.body["error"].(map[string]any)["message"]; got != tt.message {
					t.Errorf("message %q, want %q", got, tt.message)
				}
			}
			if tt.code == "invalid_run_dag" {
				sameShape(t, "error-400-invalid-run-dag.json", a.body)
			}
		})
	}
}

func TestGetErrors(t *testing.T) {
	_, c := newTestServer(t, Options{})
	const someID = "f027a242-df39-44cb-943a-c9d220ddaebd"
	tests := []struct {
		path   string
		status int
		code   string
	}{
		{"/api/v1/runs/not-a-uuid", 400, "invalid_run_id"},
		{"/api/v1/runs/{" + someID[:34] + "}", 400, "invalid_run_id"},
		{"/api/v1/runs/" + someID, 404, "run_not_found"},
		{"/api/v1/runs/" + someID + "?timeout_seconds=0", 400, "invalid_query_params"},
		{"/api/v1/runs/" + someID + "?timeout_seconds=31", 400, "invalid_query_params"},
		{"/api/v1/runs/" + someID + "?timeout_seconds=abc", 400, "invalid_query_params"},
		{"/api/v1/runs/" + someID + "?wait_for_completion=true&timeout_seconds=1.5", 400, "invalid_query_params"},
		{"/api/v1/jobs/nope", 400, "invalid_job_id"},
		{"/api/v1/jobs/" + someID, 404, "job_not_found"},
		// the jobs endpoint answers invalid_expand_param for any bad query value
		{"/api/v1/jobs/" + someID + "?timeout_seconds=-1", 400, "invalid_expand_param"},
		{"/api/v1/jobs/" + someID + "?timeout_seconds=31", 400, "invalid_expand_param"},
		{"/api/v1/jobs/" + someID + "?wait_for_completion=true&timeout_seconds=x", 400, "invalid_expand_param"},
		{"/api/v1/jobs/" + someID + "?expand=brands", 400, "invalid_expand_param"},
		{"/api/v1/jobs/" + someID + "?expand=ad", 400, "invalid_expand_param"},
		{"/api/v1/jobs/" + someID + "?include=logo", 400, "invalid_expand_param"},
		{"/api/v1/jobs/" + someID + "?expand=brand&expand=brand", 400, "invalid_expand_param"},
		{"/api/v1/jobs/" + someID + "?fields=id&fields=type", 400, "invalid_expand_param"},
		{"/api/v1/jobs/" + someID + "?expand=brand&fields=id,bogus", 404, "job_not_found"},
		{"/api/v1/nothing", 404, "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			a := c.do("GET", tt.path, nil)
			if a.status != tt.status || a.errCode(t) != tt.code {
				t.Fatalf("got %d %s, want %d %s", a.status, a.raw, tt.status, tt.code)
			}
			switch tt.code {
			case "run_not_found":
				sameShape(t, "error-404-run-not-found.json", a.body)
			case "invalid_query_params":
				sameShape(t, "error-400-invalid-query-params.json", a.body)
			}
		})
	}
}

// createJob posts to an action endpoint and returns the job id.
func (c *client) createJob(path string, input map[string]any) string {
	c.t.Helper()
	a := c.do("POST", path, input)
	if a.status != http.StatusAccepted {
		c.t.Fatalf("POST %s: %d %s", path, a.status, a.raw)
	}
	id, _ := a.data()["job_id"].(string)
	return id
}

// waitJob long-polls a job until it ends.
func (c *client) waitJob(id, query string) answer {
	c.t.Helper()
	for {
		a := c.do("GET", "/api/v1/jobs/"+id+"?wait_for_completion=true&timeout_seconds=5"+query, nil)
		if a.status != http.StatusOK {
			c.t.Fatalf("GET job: %d %s", a.status, a.raw)
		}
		if st := a.data()["status"]; st == string(catalog.JobCompleted) || st == string(catalog.JobFailed) {
			return a
		}
	}
}

func TestJobs(t *testing.T) {
	_, c := newTestServer(t, Options{})
	extract := func(url string) answer {
		return c.waitJob(c.createJob("/api/v1/brands/extract", map[string]any{"url": url}), "")
	}

	t.Run("create answer", func(t *testing.T) {
		a := c.do("POST", "/api/v1/brands/extract", map[string]any{"url": "https://example.com", "typo": 1})
		if a.status != http.StatusAccepted || a.body["status"] != "queued" || a.body["object"] != "job" {
			t.Fatalf("got %d %s", a.status, a.raw)
		}
		if a.body["id"] != a.header.Get("X-Request-Id") {
			t.Errorf("envelope id %v != X-Request-Id %s", a.body["id"], a.header.Get("X-Request-Id"))
		}
		sameShape(t, "jobs-create-202.json", a.body)
	})

	t.Run("extraction", func(t *testing.T) {
		a := extract("https://example.com")
		d := a.data()
		sameShape(t, "jobs-get-extraction-completed.json", a.body)
		brand := d["payload"].(map[string]any)["brand_id"]
		if d["status"] != string(catalog.JobCompleted) || d["result_url"] != "brands/"+fmt.Sprint(brand) || a.body["status"] != "completed" {
			t.Fatalf("got %s", a.raw)
		}
		if again := extract("https://example.com").data()["payload"].(map[string]any)["brand_id"]; again != brand {
			t.Errorf("same url gave brand %v then %v", brand, again)
		}
		if other := extract("https://other.example").data()["payload"].(map[string]any)["brand_id"]; other == brand {
			t.Errorf("different urls gave the same brand %v", brand)
		}
	})

	t.Run("ad and expand", func(t *testing.T) {
		id := c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "a hero ad"})
		a := c.waitJob(id, "")
		d := a.data()
		if d["status"] != string(catalog.JobCompleted) || d["result_url"] != c.base+"/files/campaigns/"+OrgID+"/"+id+".png" ||
			d["payload"].(map[string]any)["image_url"] != d["result_url"] {
			t.Fatalf("got %s", a.raw)
		}
		if _, has := d["job_result"]; has {
			t.Errorf("an ad has a job_result: %s", a.raw)
		}
		edit := c.waitJob(c.createJob("/api/v1/campaigns/edit", map[string]any{"source_job_id": id, "prompt": "warmer"}), "&fields=id,status,bogus")
		if len(edit.data()) != 2 || edit.data()["status"] != string(catalog.JobCompleted) {
			t.Errorf("fields=id,status,bogus gave %v", edit.data())
		}
		loc := c.waitJob(c.createJob("/api/v1/campaigns/localize-ad", map[string]any{
			"prompt": "adapt", "target_culture": "fr-FR", "source_job_id": id}), "")
		if loc.data()["type"] != "campaign_ad_localization" || loc.data()["status"] != string(catalog.JobCompleted) {
			t.Errorf("localize gave %s", loc.raw)
		}
		sameShape(t, "jobs-get-ad-completed.json", loc.body)
	})

	t.Run("expand brand", func(t *testing.T) {
		id := c.createJob("/api/v1/brands/extract", map[string]any{"url": "https://www.acme.test"})
		brandID := c.waitJob(id, "").data()["payload"].(map[string]any)["brand_id"]
		for _, q := range []string{"&expand=brand", "&include=brand"} {
			d := c.waitJob(id, q).data()
			res, _ := d["job_result"].(map[string]any)
			b, _ := res["brand"].(map[string]any)
			exp, _ := d["expanded"].(map[string]any)
			if res["type"] != "brand" || res["id"] != brandID || res["url"] != "brands/"+fmt.Sprint(brandID) ||
				b["id"] != brandID || b["name"] != "Acme.test" || fmt.Sprint(exp["brand"]) != fmt.Sprint(b) {
				t.Errorf("%s gave %v", q, d)
			}
		}
		// without expand: job_result, no brand record; fields= keeps it (it is no column)
		d := c.waitJob(id, "&fields=id,status").data()
		if res, _ := d["job_result"].(map[string]any); len(d) != 3 || res["brand"] != nil || d["expanded"] != nil {
			t.Errorf("fields=id,status gave %v", d)
		}
	})

	t.Run("fail word", func(t *testing.T) {
		d := extract("https://fail.example.com").data()
		if d["status"] != string(catalog.JobFailed) || d["error_log"] != FailLog || d["result_url"] != nil {
			t.Fatalf("got %v", d)
		}
		d = c.waitJob(c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "this will FAIL"}), "").data()
		if d["status"] != string(catalog.JobFailed) {
			t.Errorf("prompt with the fail word: %v", d)
		}
		// the server's image code throws on a data: URL of a type it does not take, and the job
		// fails with its message (src/lib/ads/reference-inputs.ts, assertAllowedMime)
		d = c.waitJob(c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "an ad",
			"reference_images": []any{"data:image/gif;base64,R0lGODlhAQABAAAAACw="}}), "").data()
		if d["status"] != string(catalog.JobFailed) || d["error_log"] != "Unsupported reference image type: image/gif" {
			t.Errorf("a gif reference: %v", d)
		}
		d = c.waitJob(c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "no failure here"}), "").data()
		if d["status"] != string(catalog.JobCompleted) {
			t.Errorf("'failure' is not the word fail: %v", d)
		}
	})
}

func TestJobInputValidation(t *testing.T) {
	_, c := newTestServer(t, Options{})
	gen := c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "x"})
	c.waitJob(gen, "")
	tests := []struct {
		path  string
		input any
		ok    bool
	}{
		{"/api/v1/brands/extract", map[string]any{}, false},
		{"/api/v1/brands/extract", map[string]any{"url": "not a url"}, false},
		{"/api/v1/brands/extract", map[string]any{"url": 3}, false},
		{"/api/v1/brands/extract", map[string]any{"imagesBase64": []any{}}, false},
		{"/api/v1/brands/extract", map[string]any{"imagesBase64": []any{"aGk="}}, true},
		{"/api/v1/brands/extract", map[string]any{"logoBase64": "aGk=", "location": map[string]any{"country": "FR", "languages": []any{"fr"}}}, true},
		{"/api/v1/brands/extract", map[string]any{"url": "https://x.test", "location": map[string]any{"languages": "fr"}}, false},
		{"/api/v1/brands/extract", `nope`, false},
		{"/api/v1/campaigns/generate", map[string]any{}, false},
		{"/api/v1/campaigns/generate", map[string]any{"prompt": ""}, false},
		{"/api/v1/campaigns/generate", map[string]any{"prompt": strings.Repeat("é", 5001)}, false},
		{"/api/v1/campaigns/generate", map[string]any{"prompt": strings.Repeat("é", 5000)}, true},
		{"/api/v1/campaigns/generate", map[string]any{"prompt": "x", "brand_id": "nope"}, false},
		{"/api/v1/campaigns/generate", map[string]any{"prompt": "x", "reference_images": []any{"a", "b", "c", "d", "e", "f", "g"}}, false},
		{"/api/v1/campaigns/generate", map[string]any{"prompt": "x", "output": "big"}, false},
		{"/api/v1/campaigns/edit", map[string]any{}, false},
		{"/api/v1/campaigns/edit", map[string]any{"source_job_id": "nope"}, false},
		{"/api/v1/campaigns/edit", map[string]any{"source_job_id": gen}, false},
		{"/api/v1/campaigns/edit", map[string]any{"source_job_id": gen, "prompt": "  "}, false},
		{"/api/v1/campaigns/generate", map[string]any{"prompt": "x", "metadata": map[string]any{"batch": 3}}, false},
		{"/api/v1/campaigns/generate", map[string]any{"prompt": "x", "output": map[string]any{"aspect_ratio": "7:3"}}, false},
		{"/api/v1/campaigns/localize-ad", map[string]any{"prompt": "p", "target_culture": "fr", "source_image_url": "data:image/png;base64,aGk="}, true},
		{"/api/v1/campaigns/localize-ad", map[string]any{"prompt": "p", "target_culture": "fr", "source_image_url": "aGk=", "target_currency": strings.Repeat("E", 17)}, false},
		{"/api/v1/campaigns/edit", map[string]any{"source_job_id": gen, "prompt": "brighter"}, true},
		{"/api/v1/campaigns/localize-ad", map[string]any{"prompt": "p", "target_culture": "fr"}, false},
		{"/api/v1/campaigns/localize-ad", map[string]any{"prompt": "p", "target_culture": "fr", "source_job_id": gen, "source_image_url": "https://x.test/a.png"}, false},
		{"/api/v1/campaigns/localize-ad", map[string]any{"prompt": "p", "target_culture": strings.Repeat("x", 201), "source_image_url": "https://x.test/a.png"}, false},
		{"/api/v1/campaigns/localize-ad", map[string]any{"prompt": "p", "target_culture": "fr", "source_image_url": "https://x.test/a.png", "reference_images": []any{"1", "2", "3", "4", "5", "6"}}, false},
		{"/api/v1/campaigns/localize-ad", map[string]any{"target_culture": "fr", "source_image_url": "https://x.test/a.png"}, false},
		{"/api/v1/campaigns/localize-ad", map[string]any{"prompt": "p", "target_culture": "fr", "source_image_url": "https://x.test/a.png"}, true},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i, tt.path), func(t *testing.T) {
			a := c.do("POST", tt.path, tt.input)
			if tt.ok {
				if a.status != http.StatusAccepted {
					t.Fatalf("got %d %s, want 202", a.status, a.raw)
				}
				return
			}
			want := "invalid_request_body"
			if s, ok := tt.input.(string); ok && s == "nope" {
				want = "invalid_json_body"
			}
			if a.status != http.StatusBadRequest || a.errCode(t) != want {
				t.Fatalf("got %d %s, want 400 %s", a.status, a.raw, want)
			}
		})
	}
}

func TestLongPollTimesOutWithCurrentState(t *testing.T) {
	_, c := newTestServer(t, Options{Latency: time.Hour})
	id := c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "slow"})
	a := c.do("GET", "/api/v1/jobs/"+id+"?wait_for_completion=true&timeout_seconds=1", nil)
	if a.status != http.StatusOK || a.data()["status"] != string(catalog.JobQueued) {
		t.Fatalf("got %d %s, want 200 with the job still queued", a.status, a.raw)
	}
	sameShape(t, "jobs-get-queued.json", a.body)
}

func TestDrainAnswersLongPolls(t *testing.T) {
	s, c := newTestServer(t, Options{Latency: time.Hour})
	id := c.createJob("/api/v1/campaigns/generate", map[string]any{"prompt": "slow"})
	got := make(chan answer)
	go func() {
		got <- c.do("GET", "/api/v1/jobs/"+id+"?wait_for_completion=true&timeout_seconds=30", nil)
	}()
	// The poll may start before or after Drain: either way it must answer at once.
	s.Drain()
	if a := <-got; a.status != http.StatusOK || a.data()["status"] != string(catalog.JobQueued) {
		t.Fatalf("got %d %s", a.status, a.raw)
	}
}

func TestFaults(t *testing.T) {
	t.Run("error rate", func(t *testing.T) {
		_, c := newTestServer(t, Options{ErrorRate: 1})
		a := c.do("POST", "/api/v1/brands/extract", map[string]any{"url": "https://example.com"})
		if a.status != http.StatusServiceUnavailable || a.errCode(t) != "service_unavailable" {
			t.Fatalf("got %d %s", a.status, a.raw)
		}
	})
	t.Run("fail rate", func(t *testing.T) {
		_, c := newTestServer(t, Options{FailRate: 1})
		d := c.waitJob(c.createJob("/api/v1/brands/extract", map[string]any{"url": "https://example.com"}), "").data()
		if d["status"] != string(catalog.JobFailed) || d["error_log"] != randomFailLog {
			t.Fatalf("got %v", d)
		}
	})
	t.Run("fail first", func(t *testing.T) {
		_, c := newTestServer(t, Options{FailFirst: 2})
		var got []any
		for range 3 {
			d := c.waitJob(c.createJob("/api/v1/brands/extract", map[string]any{"url": "https://example.com"}), "").data()
			got = append(got, d["status"])
			if d["status"] == string(catalog.JobFailed) && d["error_log"] != failFirstLog {
				t.Fatalf("error_log %v", d["error_log"])
			}
		}
		if fmt.Sprint(got) != fmt.Sprint([]any{string(catalog.JobFailed), string(catalog.JobFailed), string(catalog.JobCompleted)}) {
			t.Fatalf("job statuses %v, want the first two failed, then completed", got)
		}
	})
	t.Run("headers without limit", func(t *testing.T) {
		_, c := newTestServer(t, Options{})
		a := c.do("GET", "/api/v1/jobs/f027a242-df39-44cb-943a-c9d220ddaebd", nil)
		for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} {
			if a.header.Get(h) == "" {
				t.Errorf("no %s header", h)
			}
		}
	})
}

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRequestLog(t *testing.T) {
	var log syncBuffer
	_, c := newTestServer(t, Options{Logger: &log})
	a := c.do("GET", "/api/v1/jobs/f027a242-df39-44cb-943a-c9d220ddaebd", nil)
	c.key = ""
	c.do("GET", "/api/v1/jobs/x", nil)
	lines := strings.Split(strings.TrimSpace(log.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want one line per request, got %q", lines)
	}
	if !strings.Contains(lines[0], "GET /api/v1/jobs/f027a242-df39-44cb-943a-c9d220ddaebd 404 ") ||
		!strings.HasSuffix(lines[0], a.header.Get("X-Request-Id")) || !strings.Contains(lines[1], " 401 ") {
		t.Errorf("log %q", lines)
	}
	if strings.Contains(log.String(), testKey) {
		t.Error("the log shows the API key")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{{}, {APIKey: "k", FailRate: 2}, {APIKey: "k", ErrorRate: -1}, {APIKey: "k", RateLimit: Rate{N: -1, Per: time.Second}}, {APIKey: "k", RateLimit: Rate{N: 5, Per: time.Millisecond}}, {APIKey: "k", TimeScale: -1}, {APIKey: "k", FailFirst: -1}} {
		if s, err := New(o); err == nil {
			s.Close()
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

func TestStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	inst, err := Start(ctx, Options{DBPath: ":memory:", Latency: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(inst.URL, "http://127.0.0.1:") || !strings.HasPrefix(inst.APIKey, "pi_test_") || len(inst.APIKey) < 40 {
		t.Fatalf("instance %q %q", inst.URL, inst.APIKey)
	}
	c := &client{t: t, base: inst.URL, key: inst.APIKey}
	d := c.waitJob(c.createJob("/api/v1/brands/extract", map[string]any{"url": "https://example.com"}), "").data()
	if d["status"] != string(catalog.JobCompleted) {
		t.Fatalf("job %v", d)
	}
	// Cancelling ctx stops the server; Close after that (twice) is harmless.
	cancel()
	if err := inst.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := inst.Close(); err != nil {
		t.Errorf("second close: %v", err)
	}
	if _, err := http.Get(inst.URL); err == nil {
		t.Error("still serving after Close")
	}
}
