// Command imagegw is the imagegw gateway: one binary that serves the
// native Deltacloud API and the other fronts over every compiled-in driver.
//
//	imagegw serve [--listen ADDR] [--data DIR] [--config FILE] [--mock-images N]
//
// Other subcommands (accounts, keys) manage the gateway's store.
package main

import (
	"fmt"
	"os"
	"sort"
	"strings"

	_ "github.com/imagegw/imagegw/drivers/mock" // the embedded default cloud
)

// commands are the subcommands, by name. Files of this package add theirs
// from an init function.
var commands = map[string]func(args []string) error{
	"serve": runServe,
}

func usage() {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "usage: imagegw <command> [flags]\ncommands: %s\nrun 'imagegw <command> -h' for a command's flags\n", strings.Join(names, ", "))
}

func main() {
	if len(os.Args) < 2 || os.Args[1] == "-h" || os.Args[1] == "--help" || os.Args[1] == "help" {
		usage()
		if len(os.Args) < 2 {
			os.Exit(2)
		}
		return
	}
	run, ok := commands[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "imagegw: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err := run(os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "imagegw %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
