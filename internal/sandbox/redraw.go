package sandbox

import (
	"net"
	"net/url"
	"strings"

	"github.com/pi-cli/pi/internal/catalog"
)

// DrawAd draws the PNG the sandbox serves for a completed ad job of this id, type
// (campaign_ad_generation, _edit or _localization) and input (the resolved input the job
// was created with): the same bytes, since the picture depends on nothing else. A report of
// a sandbox run shows its ads this way after the sandbox, in-process or not, is gone.
func DrawAd(jobID, jobType string, input map[string]any) ([]byte, error) {
	return renderAd(&job{ID: strings.ToLower(jobID), Type: jobType, Input: input})
}

// AdImageJob returns the job id of an ad image URL a sandbox served on loopback
// (http://127.0.0.1:PORT/files/campaigns/<org>/<job id>.png), and false for any other URL.
func AdImageJob(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || u.RawQuery != "" {
		return "", false
	}
	if ip := net.ParseIP(u.Hostname()); u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", false
	}
	rest, ok := strings.CutPrefix(u.Path, filesPrefix+"campaigns/"+OrgID+"/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, ".png")
	if !ok || !catalog.IsUUID(id) {
		return "", false
	}
	return strings.ToLower(id), true
}
