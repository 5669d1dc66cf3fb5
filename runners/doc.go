// Package runners selects and runs the Beam runner a pipeline executes on.
// prism, Beam's in-process portable runner, is the default: it needs no
// setup and runs the same portable pipeline that Flink, Spark and
// Dataflow run. Options names the runner and what it needs (a job server
// for universal, Flink and Spark; a project, region and gs:// folders for
// Dataflow); RegisterFlags gives a command line the same flags, under the
// names the Beam SDK itself uses. docs/RUNNING.md has commands to paste.
package runners
