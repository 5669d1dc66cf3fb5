// Package gcstest holds end-to-end tests that run genrec's pipelines with
// every input and output on gs://, against an in-process fake GCS server
// (github.com/fsouza/fake-gcs-server), and inject upload and read faults
// into it. It has no code of its own.
package gcstest
