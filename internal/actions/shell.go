package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/pi-cli/pi/internal/engine"
)

// MaxOutput caps what shell.run keeps of stdout and of stderr.
const MaxOutput = 1 << 20

// drainTimeout bounds the wait for a step's output once its process ended: longer, and a
// process it left behind with the pipes open would hold the step.
const drainTimeout = 2 * time.Second

// secretEnv are the variables children never inherit from pi.
var secretEnv = []string{"PI_API_KEY"}

// childEnv is env without secretEnv.
func childEnv(env []string) []string {
	out := make([]string, 0, len(env))
next:
	for _, kv := range env {
		for _, k := range secretEnv {
			if strings.HasPrefix(kv, k+"=") {
				continue next
			}
		}
		out = append(out, kv)
	}
	return out
}

// stderrTail is how many lines of stderr a failure message ends with.
const stderrTail = 5

// capped keeps the first MaxOutput bytes and drops (but counts) the rest, so a chatty
// command cannot exhaust memory.
type capped struct {
	buf       bytes.Buffer
	truncated bool
}

func (c *capped) Write(p []byte) (int, error) {
	if room := MaxOutput - c.buf.Len(); room < len(p) {
		c.truncated = true
		if room > 0 {
			c.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return c.buf.Write(p)
}

// ReadFrom reads r to its end into c, keeping the first MaxOutput bytes: io.Copy would
// otherwise allocate a 32 KB buffer per stream, two per step, however little the command
// writes (most write nothing).
func (c *capped) ReadFrom(r io.Reader) (int64, error) {
	var (
		total int64
		drop  []byte // what is read past MaxOutput, counted and dropped
	)
	for {
		var p []byte
		room := MaxOutput - c.buf.Len()
		if room > 0 {
			c.buf.Grow(min(room, max(512, c.buf.Len())))
			p = c.buf.AvailableBuffer()
			p = p[:min(room, cap(p))]
		} else {
			if drop == nil {
				drop = make([]byte, 32<<10)
			}
			p = drop
		}
		n, err := r.Read(p)
		total += int64(n)
		if room > 0 {
			c.buf.Write(p[:n]) // p is c.buf's own spare room: this only extends it
		} else if n > 0 {
			c.truncated = true
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// Shell is shell.run's executor for the steps of one run: it looks each command name up in
// $PATH once (commandPaths).
type Shell struct {
	paths commandPaths
}

// Execute runs the step's `command` (argv, no shell) or `script` (sh -c) in its own
// process group, killed as a whole when ctx ends (timeout, cancellation).
func (s *Shell) Execute(ctx context.Context, req engine.Request) (map[string]any, error) {
	argv, err := shellArgv(req.Input)
	if err != nil {
		return nil, err
	}
	tree, err := newProcTree()
	if err != nil {
		return nil, fmt.Errorf("shell.run: %w", err)
	}
	defer tree.release()
	cmd, err := shellCommand(tree, s.paths.resolve(argv[0]), argv, req.Input)
	if err != nil {
		return nil, err
	}
	var stdout, stderr capped
	waited, err := runCaptured(ctx, tree, cmd, &stdout, &stderr)
	switch {
	case err != nil:
		return nil, err
	case errors.Is(waited, errKilled):
		return nil, fmt.Errorf("shell.run: %s killed: %w", argv[0], context.Cause(ctx))
	}
	return shellResult(argv, waited, &stdout, &stderr, req.Step != nil && req.Step.Retry != nil)
}

// shellArgv is the command of a shell.run input: its argv list, or sh -c its script.
func shellArgv(in map[string]any) ([]string, error) {
	switch {
	case in["command"] != nil:
		list, ok := in["command"].([]any)
		if !ok || len(list) == 0 {
			return nil, engine.Permanent(errors.New("shell.run: input command must be a non-empty list of strings"))
		}
		argv := make([]string, 0, len(list))
		for _, a := range list {
			argv = append(argv, fmt.Sprint(a))
		}
		return argv, nil
	case in["script"] != nil:
		s, ok := in["script"].(string)
		if !ok {
			return nil, engine.Permanent(errors.New("shell.run: input script must be a string"))
		}
		return []string{"sh", "-c", s}, nil
	}
	return nil, engine.Permanent(errors.New("shell.run: input needs command (a list) or script (a string)"))
}

// shellCommand is argv (argv[0] started from path) in the tree with the input's dir, env
// and stdin.
func shellCommand(tree *procTree, path string, argv []string, in map[string]any) (*exec.Cmd, error) {
	cmd := tree.command(path, argv)
	if dir, ok := in["dir"].(string); ok {
		cmd.Dir = dir
	}
	// The child gets pi's environment without the API key (a step that needs it passes it
	// in env, on purpose), plus the step's env, plus the tree's mark.
	cmd.Env = childEnv(os.Environ())
	if env, ok := in["env"].(map[string]any); ok {
		for k, v := range env {
			s, isStr := v.(string)
			if !isStr {
				b, err := json.Marshal(v)
				if err != nil {
					return nil, engine.Permanent(fmt.Errorf("shell.run: env %s: %w", k, err))
				}
				s = string(b)
			}
			cmd.Env = append(cmd.Env, k+"="+s)
		}
	}
	cmd.Env = append(cmd.Env, tree.markEnv())
	if stdin, ok := in["stdin"].(string); ok {
		cmd.Stdin = strings.NewReader(stdin)
	}
	return cmd, nil
}

// errKilled is runCaptured's error when ctx ended the command.
var errKilled = errors.New("killed")

// runCaptured starts cmd in the tree and waits for it, its output going to stdout and
// stderr; anything the command leaves behind is killed when it exits, and the whole tree
// when ctx ends first. waited is cmd.Wait's error, or errKilled; err says the command
// could not start.
func runCaptured(ctx context.Context, tree *procTree, cmd *exec.Cmd, stdout, stderr *capped) (waited, err error) {
	// The output goes through pipes of our own rather than os/exec's: Wait then returns when
	// the command exits, not when the last process holding its output exits, so a script
	// that leaves a child in the background (`server &`) does not hang the step; the group
	// kill below ends that child and with it the pipes.
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("shell.run: %w", err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, fmt.Errorf("shell.run: %w", err)
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	startErr := tree.start(cmd)
	outW.Close()
	errW.Close()
	if startErr != nil {
		outR.Close()
		errR.Close()
		if errors.Is(startErr, errReaper) {
			return nil, engine.Transient(fmt.Errorf("shell.run: %w", startErr)) // the machine's trouble: retried
		}
		return nil, engine.Permanent(fmt.Errorf("shell.run: starting %s: %w", cmd.Args[0], startErr))
	}
	var copies sync.WaitGroup
	copies.Go(func() { _, _ = io.Copy(stdout, outR); outR.Close() })
	copies.Go(func() { _, _ = io.Copy(stderr, errR); errR.Close() })
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case waited = <-done:
		// The leader exited; anything it left behind goes too.
		tree.kill(cmd)
	case <-ctx.Done():
		// Kill the whole tree: sh -c's children would otherwise outlive the step.
		tree.kill(cmd)
		<-done
		waited = errKilled
	}
	drain(&copies, outR, errR)
	return waited, nil
}

// drain waits for the output a bounded time: a process that escaped the tree (setsid, a
// daemon) and kept a copy of the pipes must not hold the step, nor pi, open.
func drain(copies *sync.WaitGroup, pipes ...*os.File) {
	drained := make(chan struct{})
	go func() { copies.Wait(); close(drained) }()
	t := time.NewTimer(drainTimeout)
	defer t.Stop()
	select {
	case <-drained:
	case <-t.C:
		for _, p := range pipes {
			p.Close()
		}
		<-drained
	}
}

// shellResult is the step result of a command that ended with err (cmd.Wait's): a JSON
// object it printed, else its output and exit code. A non-zero exit fails the attempt with
// the end of its stderr: for good, unless the step has a retry: block (retry), which
// makes it worth another attempt, as argo's retryStrategy and dagu's retryPolicy retry a
// failed command. Without one a command is never run twice behind the user's back (the
// engine's default of 3 attempts is for transient failures: the network, the machine).
func shellResult(argv []string, err error, stdout, stderr *capped, retry bool) (map[string]any, error) {
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return nil, engine.Permanent(fmt.Errorf("shell.run: %s: %w", argv[0], err))
		}
		code = ee.ExitCode()
		msg := fmt.Sprintf("shell.run: %s exited with status %d", argv[0], code)
		if tail := lastLines(stderr.buf.String(), stderrTail); tail != "" {
			msg += ": " + tail
		}
		return nil, &engine.StepError{Err: errors.New(msg), Transient: retry, Result: map[string]any{
			"stdout": stdout.buf.String(), "stderr": stderr.buf.String(), "exit_code": code,
		}}
	}
	out := stdout.buf.Bytes()
	if t := bytes.TrimSpace(out); len(t) > 0 && t[0] == '{' && !stdout.truncated {
		var obj map[string]any
		if json.Unmarshal(t, &obj) == nil {
			return obj, nil
		}
	}
	if len(out) == 0 && stderr.buf.Len() == 0 && !stderr.truncated {
		return noOutputResult(), nil
	}
	res := map[string]any{"stdout": string(out), "stderr": stderr.buf.String(), "exit_code": code}
	if stdout.truncated || stderr.truncated {
		res["truncated"] = true
	}
	return res, nil
}

// noOutput is the result of a command that printed nothing and exited 0 (true, mkdir -p,
// ...): one map for all such steps, since nothing modifies a step's result, and a map costs
// some 300 bytes in each of a run's 100,000 steps. Made on first use: pi allocates nothing
// at start.
var (
	noOutputOnce sync.Once
	noOutput     map[string]any
)

func noOutputResult() map[string]any {
	noOutputOnce.Do(func() { noOutput = map[string]any{"stdout": "", "stderr": "", "exit_code": 0} })
	return noOutput
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}
