// Package runners selects and runs the Beam runner a pipeline executes on.
// prism, Beam's in-process portable runner, is the default: it needs no
// setup and runs the same portable pipeline that Flink, Spark and
// Dataflow run.
package runners
