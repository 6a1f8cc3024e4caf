package piapi

import "time"

// Backoff is the wait before retry attempt+1 (attempt counts from 1): the server's
// Retry-After when it gave one, else exponential with jitter, at most 10 s. Other clients
// of Pi's hosts (image downloads) back off the same way.
func Backoff(attempt int, retryAfter time.Duration) time.Duration {
	return backoff(attempt, retryAfter)
}
