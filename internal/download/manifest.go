package download

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/pi-cli/pi/internal/filelock"
	"github.com/pi-cli/pi/internal/run"
)

// lockName is the file that downloads into one directory lock while they update its
// manifest (hidden; no step's file name starts with a dot).
const lockName = ".pi-download.lock"

// lockWait bounds the wait for another download's manifest update (a few milliseconds
// of work): past it, something holds the lock and is not letting go.
const lockWait = 5 * time.Second

// updateManifest merges this download's items into dir's manifest as it is now, under the
// directory's lock: two downloads into one directory at once each add their files, where
// reading the manifest at the start and writing it at the end lost the other's.
func updateManifest(dir string, r *run.Run, items []Item, writeEmpty bool) (*Manifest, error) {
	// Not under the download's deadline: the files fetched before it are on disk and
	// belong in the manifest; lockWait bounds this wait.
	unlock, err := filelock.Wait(context.Background(), filepath.Join(dir, lockName), 0o644, lockWait)
	if err != nil {
		return nil, fmt.Errorf("%w: the manifest was not updated", err)
	}
	defer unlock()
	prev, err := readManifest(dir)
	if err != nil {
		return nil, err
	}
	if prev != nil && prev.RunID != r.ID {
		return nil, &UsageError{fmt.Errorf("%s now holds the images of run %s (its %s); download run %s into another directory (-D)",
			dir, prev.RunID, ManifestName, r.ID)}
	}
	m := merge(prev, r, items, dir)
	if len(items) > 0 || prev != nil || writeEmpty {
		if err := writeManifest(dir, m); err != nil {
			return m, err
		}
	}
	return m, nil
}

// merge is the new manifest: the entries of this download, and those of the previous
// manifest for steps not downloaded now (or whose download failed) whose file is still
// there, in the run's step order.
func merge(prev *Manifest, r *run.Run, items []Item, dir string) *Manifest {
	m := &Manifest{RunID: r.ID, Status: string(r.Status), Files: []File{}}
	byStep := map[string]File{}
	if prev != nil {
		for _, f := range prev.Files {
			if _, err := os.Stat(filepath.Join(dir, filepath.Base(f.File))); err == nil {
				byStep[f.Step] = f
			}
		}
	}
	touched := map[string]bool{}
	for _, it := range items {
		touched[it.Step] = true
		if it.Err != nil {
			m.Failed = append(m.Failed, Failure{Step: it.Step, URL: it.URL, Error: it.Err.Error()})
			continue
		}
		byStep[it.Step] = it.File
	}
	if prev != nil {
		// Failures another download recorded, for steps this one did not try.
		for _, f := range prev.Failed {
			if _, has := byStep[f.Step]; !has && !touched[f.Step] {
				m.Failed = append(m.Failed, f)
			}
		}
	}
	order := map[string]int{}
	for i := range r.Steps {
		order[r.Steps[i].ID] = i
	}
	for _, f := range byStep {
		m.Files = append(m.Files, f)
	}
	sort.Slice(m.Files, func(a, b int) bool {
		oa, okA := order[m.Files[a].Step]
		ob, okB := order[m.Files[b].Step]
		if okA != okB {
			return okA
		}
		if oa != ob {
			return oa < ob
		}
		return m.Files[a].Step < m.Files[b].Step
	})
	return m
}

// ReadManifest reads dir's manifest.json; nil without error when there is none.
func ReadManifest(dir string) (*Manifest, error) { return readManifest(dir) }

func readManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil || m.RunID == "" {
		return nil, &UsageError{fmt.Errorf("%s: not a pi download manifest (%v); use another directory", filepath.Join(dir, ManifestName), err)}
	}
	return &m, nil
}

// writeManifest replaces the manifest atomically.
func writeManifest(dir string, m *Manifest) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".manifest.*.part")
	if err != nil {
		return fmt.Errorf("write the manifest: %w", err)
	}
	_, werr := tmp.Write(append(b, '\n'))
	_ = tmp.Chmod(0o644)
	cerr := tmp.Close()
	if werr != nil || cerr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write the manifest: %v", errors.Join(werr, cerr))
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, ManifestName)); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write the manifest: %w", err)
	}
	return nil
}

// Fetched is what one download did, as `pi runs download -o json` prints it: the run, the
// directory, and only the images this call was asked for (its --step globs), each with its
// outcome, and its failures. manifest.json describes the whole directory (every earlier
// call's files too); this says what this call fetched or kept.
type Fetched struct {
	RunID  string        `json:"run_id"`
	Status string        `json:"status"`
	Dir    string        `json:"dir"`
	Files  []FetchedFile `json:"files"`
	Failed []Failure     `json:"failed,omitempty"`
}

// FetchedFile is one image of a call and what became of it: new, replaced or unchanged
// (the file already had its bytes and was kept).
type FetchedFile struct {
	File
	Outcome string `json:"outcome"`
}

// Fetched returns what this call did (nil Result: nothing was attempted).
func (r *Result) Fetched() *Fetched {
	f := &Fetched{Dir: r.Dir, Files: []FetchedFile{}}
	if r.Manifest != nil {
		f.RunID, f.Status = r.Manifest.RunID, r.Manifest.Status
	}
	for _, it := range r.Items {
		if it.Err != nil {
			f.Failed = append(f.Failed, Failure{Step: it.Step, URL: it.URL, Error: it.Err.Error()})
			continue
		}
		f.Files = append(f.Files, FetchedFile{File: it.File, Outcome: it.Outcome})
	}
	return f
}
