//go:build !linux && !darwin

package store

// processStart: this system's start times are not read, so a run's owner is its pid alone
// (a pid reused after the owner died is taken for the owner until that process ends).
func processStart(pid int) (string, bool) { return "", false }
