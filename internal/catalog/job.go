package catalog

// JobStatus is the status of an action's job (GET /api/v1/jobs/:id, PI-API.md "Jobs").
type JobStatus string

// Job statuses, as the server spells them.
const (
	JobQueued     JobStatus = "queued"
	JobProcessing JobStatus = "processing"
	JobCompleted  JobStatus = "completed"
	JobFailed     JobStatus = "failed"
)

// Terminal reports whether a job in this status will change no more (completed or failed).
func (s JobStatus) Terminal() bool { return s == JobCompleted || s == JobFailed }
