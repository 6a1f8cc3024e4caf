package cli

import (
	"database/sql"
	"path/filepath"
	"strconv"

	"github.com/rogpeppe/go-internal/testscript"
)

// jobsCmd checks how many jobs the in-process sandbox of `pi run --sandbox` has made so far
// ("jobs 3"): the paid jobs a real server would have charged for. It reads the sandbox's
// database under the script's state directory, after pi exited.
func jobsCmd(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: jobs N")
	}
	want, err := strconv.Atoi(args[0])
	ts.Check(err)
	path := filepath.Join(ts.Getenv("XDG_STATE_HOME"), "pi", "sandbox", "sandbox.db")
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	ts.Check(err)
	defer db.Close()
	var got int
	ts.Check(db.QueryRow(`SELECT COUNT(*) FROM jobs`).Scan(&got))
	if (got == want) == neg {
		ts.Fatalf("the sandbox made %d jobs, want %d", got, want)
	}
}
