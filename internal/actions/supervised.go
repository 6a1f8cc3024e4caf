package actions

import "os"

// RunSupervised runs argv once as shell.run starts a step's command (directly, in a
// process group of its own, with the step's mark, known to the process's reaper while it
// runs, the group and the marked processes killed at its end), with no input and its
// output discarded, and returns how it ended. It is what starting one step's processes
// costs with no engine, no store and no output: the second floor of BenchmarkLocalRun.
// The caller calls ShutdownReaper before it exits, as pi does.
func RunSupervised(argv []string) error {
	tree, err := newProcTree()
	if err != nil {
		return err
	}
	defer tree.release()
	cmd := tree.command(argv[0], argv)
	cmd.Env = append(childEnv(os.Environ()), tree.markEnv())
	if err := tree.start(cmd); err != nil {
		return err
	}
	err = cmd.Wait()
	tree.kill(cmd)
	return err
}
