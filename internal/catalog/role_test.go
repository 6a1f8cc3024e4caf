package catalog

import (
	"strings"
	"testing"
)

// Every Pi action has a fake job, and its step result gives back each made-up value under
// the field of its role: the simulated server and the result mapping agree, so a new action
// is one entry here.
func TestFakeJobsMapBackToTheirRoles(t *testing.T) {
	made := map[Role]string{
		RoleBrand: "0b5d4c1e-1111-4222-8333-444455556666",
		RoleImage: "https://img.example/campaigns/org/job.png",
	}
	const jobID = "8177a096-0e0a-4806-a856-80d06bccd834"
	for _, a := range All() {
		if a.Local {
			if len(a.Fake) > 0 {
				t.Errorf("%s: a local action has a fake job", a.Name)
			}
			continue
		}
		if len(a.Fake) == 0 {
			t.Errorf("%s: no fake job for the simulated server", a.Name)
			continue
		}
		for _, m := range a.Fake {
			if m.To != "result_url" && !strings.HasPrefix(m.To, "payload.") {
				t.Errorf("%s: fake value goes to %q, want payload.<key> or result_url", a.Name, m.To)
			}
			if made[m.Role] == "" {
				t.Errorf("%s: the simulated server makes up no %q", a.Name, m.Role)
			}
		}
		payload, resultURL := a.FakeJob(func(r Role) string { return made[r] })
		res := StepResult(a.JobType, jobID, resultURL, payload)
		if got := ResultRole(a.Name, res, RoleJob); got != jobID {
			t.Errorf("%s: the job role gives %q, want the job id", a.Name, got)
		}
		for _, m := range a.Fake {
			if got := JobRole(a.JobType, jobID, resultURL, payload, m.Role); got != made[m.Role] {
				t.Errorf("%s: role %s of its fake job = %q, want %q (result %v)", a.Name, m.Role, got, made[m.Role], res)
			}
		}
	}
}

func TestRoleFields(t *testing.T) {
	for _, tt := range []struct {
		action string
		role   Role
		want   string
	}{
		{"brands.extract", RoleBrand, "brand_id"},
		{"brands.extract", RoleJob, "job_id"},
		{"brands.extract", RoleImage, ""},
		{"campaigns.localize_ad", RoleImage, "image_url"},
		{"shell.run", RoleImage, ""},
	} {
		a, _ := Lookup(tt.action)
		if got, _ := a.RoleField(tt.role); got != tt.want {
			t.Errorf("%s %s: %q, want %q", tt.action, tt.role, got, tt.want)
		}
	}
	res := map[string]any{"image_url": "  https://x.test/a.png ", "brand_id": 7}
	if got := ResultRole("campaigns.generate", res, RoleImage); got != "https://x.test/a.png" {
		t.Errorf("image of an ad: %q", got)
	}
	if got := ResultRole("shell.run", res, RoleImage); got != "https://x.test/a.png" {
		t.Errorf("a local step's JSON output names its image as an ad does: %q", got)
	}
	if got := ResultRole("campaigns.generate", map[string]any{"brand_id": "b"}, RoleBrand); got != "" {
		t.Errorf("an ad has no brand, whatever its result holds: %q", got)
	}
	if got := ResultRole("brands.extract", res, RoleBrand); got != "" {
		t.Errorf("a non-string brand: %q", got)
	}
}
