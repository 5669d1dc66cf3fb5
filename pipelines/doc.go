// Package pipelines is the home of genrec's whole Beam pipelines, one
// subpackage each (preprocess, and later train, evaluate, recommend,
// embed-items, export). Each exports Pipeline(s beam.Scope, cfg Config),
// which builds the pipeline into s, and a Run helper that builds, runs and
// reports it; cmd/genrec only parses flags and calls them. This package
// holds the job config file that ties them together.
package pipelines
