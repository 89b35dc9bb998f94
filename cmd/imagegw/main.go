// Command imagegw is the imagegw gateway: one binary that serves the
// native Deltacloud API and the other fronts over every compiled-in driver.
//
//	imagegw serve [--listen ADDR] [--data DIR] [--config FILE] [--mock-images N]
//	imagegw version        (or imagegw --version)
//	imagegw help [COMMAND] (or -h, --help after any command or subcommand)
//
// Other subcommands (accounts, keys, tenants) manage the gateway's store;
// images, profiles and jobs are a client of a running gateway (client.go).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"github.com/imagegw/imagegw/api"
	_ "github.com/imagegw/imagegw/drivers/mock" // the embedded default cloud
)

// command is one subcommand: run gets the arguments after its name and
// writes its normal output (and its usage, when asked for) to out.
type command struct {
	summary string
	run     func(out io.Writer, args []string) error
	// runIO, when set instead of run, also gets stderr (the client's
	// progress line).
	runIO func(out, errOut io.Writer, args []string) error
}

// commands are the subcommands, by name. Files of this package add theirs
// from an init function.
var commands = map[string]command{
	"serve":   {summary: "serve the API (the default mock cloud needs no configuration)", run: runServe},
	"version": {summary: "print the version and build", run: runVersion},
}

// errHelp is returned by a command that printed its usage because it was
// asked to (-h, --help, help): the process exits 0.
var errHelp = errors.New("help requested")

func isHelp(arg string) bool {
	return arg == "-h" || arg == "--help" || arg == "-help" || arg == "help"
}

func usage(out io.Writer) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(out, "usage: imagegw <command> [flags]\n\ncommands:")
	for _, n := range names {
		fmt.Fprintf(out, "  %-9s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(out, "\nrun 'imagegw <command> -h' for a command's flags; 'imagegw --version' prints the version")
}

// parseFlags parses a command's flags. -h or --help prints the usage on
// out and returns errHelp; any other parse error is returned with a hint,
// and nothing is printed (main prints the error once).
func parseFlags(fs *flag.FlagSet, out io.Writer, args []string) error {
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(out)
		fs.Usage()
		return errHelp
	}
	if err != nil {
		return usageError{fmt.Errorf("%v (run 'imagegw %s -h' for its flags)", err, fs.Name())}
	}
	return nil
}

// usageError is a command line that is wrong: the process exits 2.
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func runVersion(out io.Writer, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: imagegw version\n\nprints the version, the source revision and the Go version it was built with")
	}
	if err := parseFlags(fs, out, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %v", fs.Args())
	}
	fmt.Fprintln(out, api.Build())
	return nil
}

// run is main without the exit: it returns the process's exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	name := args[0]
	switch {
	case name == "--version" || name == "-version":
		name, args = "version", args[:1]
	case isHelp(name):
		if len(args) > 1 { // imagegw help serve
			if _, ok := commands[args[1]]; ok {
				name, args = args[1], []string{args[1], "-h"}
				break
			}
			fmt.Fprintf(stderr, "imagegw: unknown command %q\n", args[1])
			usage(stderr)
			return 2
		}
		usage(stdout)
		return 0
	}
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "imagegw: unknown command %q\n", name)
		usage(stderr)
		return 2
	}
	var err error
	if cmd.runIO != nil {
		err = cmd.runIO(stdout, stderr, args[1:])
	} else {
		err = cmd.run(stdout, args[1:])
	}
	if err == nil || errors.Is(err, errHelp) {
		return 0
	}
	fmt.Fprintf(stderr, "imagegw %s: %v\n", name, err)
	var ue usageError
	if errors.As(err, &ue) {
		return 2
	}
	if cmd.runIO != nil {
		return exitCode(err)
	}
	return 1
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }
