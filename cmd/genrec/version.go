package main

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=v1.2.3".
var version = "dev"

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print genrec's version and the versions of its main dependencies",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "genrec %s\n", version)
			if bi, ok := debug.ReadBuildInfo(); ok {
				fmt.Fprintf(cmd.OutOrStdout(), "go     %s\n", bi.GoVersion)
				for _, d := range bi.Deps {
					switch d.Path {
					case "github.com/apache/beam/sdks/v2", "github.com/parquet-go/parquet-go":
						fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", d.Path, d.Version)
					}
				}
			}
			return nil
		},
	}
}

// noArgs rejects positional arguments as a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q", cmd.CommandPath(), args)}
	}
	return nil
}
