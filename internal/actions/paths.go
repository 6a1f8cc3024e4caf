package actions

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// commandPaths is where $PATH put the command names a registry's shell.run steps ran, so a
// run looks each name up once, not at every step: exec.LookPath stats every $PATH
// directory until one holds the name, about 50 µs a step with a dozen directories (a
// twentieth of a `true` step's own cost). A name is looked up again when $PATH changed or
// the file it was found at is gone; a name that is not found, or found at a relative path
// ("." in $PATH), is never kept (exec.Command then says why it cannot run).
type commandPaths struct {
	mu    sync.Mutex
	env   string // the $PATH of the names in found
	found map[string]string
}

// resolve is what to start for argv[0] name: the file $PATH puts it at, or name itself
// (a path, a name not found: exec.Command deals with it as before).
func (c *commandPaths) resolve(name string) string {
	if c == nil || name == "" || filepath.Base(name) != name {
		return name
	}
	env := os.Getenv("PATH")
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.env != env {
		c.env, c.found = env, nil
	}
	if p, ok := c.found[name]; ok {
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p
		}
		delete(c.found, name)
	}
	p, err := exec.LookPath(name)
	if err != nil || !filepath.IsAbs(p) {
		return name
	}
	if c.found == nil {
		c.found = make(map[string]string)
	}
	c.found[name] = p
	return p
}
