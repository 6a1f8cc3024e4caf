package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/pi-cli/pi/internal/cache"
	"github.com/pi-cli/pi/internal/clock"
	"github.com/pi-cli/pi/internal/safe"
)

// cacheOptions are the options of `pi cache list|prune|clear`.
type cacheOptions struct {
	Op        string        // list, prune or clear
	Output    string        // list: table or json
	OlderThan time.Duration // prune
	// Path is the cache file ($XDG_CACHE_HOME/pi/cache.db).
	Path  func() (string, error)
	Clock clock.Clock
}

func newCacheCmd(f *Factory, runF func(*cacheOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cache <command>",
		Short: "Show or empty the step cache (jobs pi reuses instead of paying again)",
		Long: `The step cache keeps the completed jobs of Pi actions, so a step whose resolved input
was already paid for on the same server is not paid again. Its key is computed by pi: the
action, the catalog's contract version of it, the step's input after params, matrix and
input_map (so a new job upstream is a new key below it), the server (base URL and a hash
of the API key, never the key) and a variant (pi run --reroll STEP makes a new one).

Before a cached job is reused pi asks the server for it (GET /jobs/{id}): it must exist,
be completed and be of the action's type; one that is not is dropped. When the server
cannot be asked, the step is paid for and the entry kept: a hit is never taken unchecked.

The cache is one file, $XDG_CACHE_HOME/pi/cache.db (~/.cache/pi/cache.db), whole when pi
exits: CI can save and restore it (see docs/ci.md). It holds at most 32 MiB; the least
recently used entries go first.`,
	}
	path := func() (string, error) { return cache.DefaultPath(f.Getenv) }
	sub := func(op, use, short, long string, args cobra.PositionalArgs, flags func(*cobra.Command, *cacheOptions)) *cobra.Command {
		o := &cacheOptions{Op: op, Output: "table", Path: path, Clock: clock.Real{}}
		c := &cobra.Command{Use: use, Short: short, Long: long, Args: args,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if o.Output != "table" && o.Output != "json" {
					return UsageErrorf("-o %s: want table or json", o.Output)
				}
				if op == "prune" && o.OlderThan <= 0 {
					return UsageErrorf("pi cache prune needs --older-than DURATION (30d, 12h, 90m)")
				}
				if runF != nil {
					return runF(o)
				}
				return runCache(cmd.Context(), f, o)
			}}
		if flags != nil {
			flags(c, o)
		}
		return c
	}
	cmd.AddCommand(
		sub("list", "list", "List the cached jobs, the most recently used first",
			`List the cached jobs, the most recently used first: the key (its first 12 hex digits),
action, the step that made the job, the job, the server, the variant, and when it was made
and last reused.`, exactArgs(0), func(c *cobra.Command, o *cacheOptions) {
				c.Flags().StringVarP(&o.Output, "output", "o", "table", "output format: table or json")
			}),
		sub("prune", "prune --older-than DURATION", "Delete the entries not reused for a while",
			`Delete the entries not made or reused within DURATION (a Go duration, or days: 30d).`,
			exactArgs(0), func(c *cobra.Command, o *cacheOptions) {
				c.Flags().Var((*ageFlag)(&o.OlderThan), "older-than", "delete entries not used for this long (30d, 12h, 90m)")
			}),
		sub("clear", "clear", "Delete every entry (the next runs pay for every step)",
			`Delete every entry. A cache file too damaged to open is deleted.`, exactArgs(0), nil),
	)
	return cmd
}

// ageFlag is a duration that also takes days ("30d").
type ageFlag time.Duration

func (a *ageFlag) String() string {
	if *a == 0 {
		return ""
	}
	return time.Duration(*a).String()
}

func (a *ageFlag) Type() string { return "duration" }

func (a *ageFlag) Set(s string) error {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.ParseFloat(days, 64)
		if err != nil || n <= 0 {
			return fmt.Errorf("%q: want a positive number of days (30d) or a duration (12h)", s)
		}
		*a = ageFlag(time.Duration(n * 24 * float64(time.Hour)))
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return fmt.Errorf("%q: want a positive duration (12h, 90m) or days (30d)", s)
	}
	*a = ageFlag(d)
	return nil
}

func runCache(ctx context.Context, f *Factory, o *cacheOptions) error {
	path, err := o.Path()
	if err != nil {
		return err
	}
	c, err := cache.Open(ctx, path, cache.Options{Clock: o.Clock})
	if err != nil {
		if o.Op == "clear" {
			if rerr := cache.Remove(path); rerr != nil {
				return fmt.Errorf("%w; deleting it: %v", err, rerr)
			}
			fmt.Fprintf(f.IO.ErrOut, "deleted %s, which was not a usable step cache\n", path)
			return nil
		}
		return err
	}
	defer c.Close()
	switch o.Op {
	case "prune":
		n, err := c.Prune(ctx, o.OlderThan)
		if err != nil {
			return err
		}
		fmt.Fprintf(f.IO.ErrOut, "deleted %d %s not used for %s from %s\n", n, pluralWord(n, "entry", "entries"), cache.Age(o.OlderThan), path)
		return nil
	case "clear":
		n, err := c.Clear(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(f.IO.ErrOut, "deleted %d %s from %s\n", n, pluralWord(n, "entry", "entries"), path)
		return nil
	}
	entries, err := c.List(ctx)
	if err != nil {
		return err
	}
	return listCache(f, o, path, entries)
}

func listCache(f *Factory, o *cacheOptions, path string, entries []*cache.Entry) error {
	if o.Output == "json" {
		if entries == nil {
			entries = []*cache.Entry{}
		}
		b, err := json.MarshalIndent(entries, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(f.IO.Out, "%s\n", safe.JSON(b))
		return nil
	}
	if len(entries) == 0 {
		fmt.Fprintf(f.IO.ErrOut, "the step cache %s is empty\n", path)
		return nil
	}
	now := clock.Or(o.Clock).Now()
	var size int64
	tw := tabwriter.NewWriter(f.IO.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tACTION\tSTEP\tJOB\tSERVER\tVARIANT\tMADE\tUSED")
	for _, e := range entries {
		size += e.Size
		job := e.JobID
		if job == "" {
			job = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s ago\t%s ago\n", e.Digest[:12], safe.Text(e.Action), safe.Text(e.Step),
			safe.Text(job), safe.Text(e.Server), e.Variant, cache.Age(now.Sub(e.Created)), cache.Age(now.Sub(e.Used)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(f.IO.ErrOut, "%d %s, %s, in %s\n", len(entries), pluralWord(len(entries), "entry", "entries"), sizeText(size), path)
	return nil
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
