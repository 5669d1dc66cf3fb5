// Package transforms holds genrec's Beam composite transforms and the
// record types that flow between them: reading interaction sources
// (MovieLens, the S3-Rec sequence format, generic CSV/Parquet tables),
// grouping and encoding user histories, the leave-one-out split, window
// splitting of long histories, the ranking task's labelled rows with
// their histories (BuildRankingRows), and the Parquet sink and source.
//
// Every composite is a plain function whose first line re-scopes, e.g.
//
//	func SplitWindows(s beam.Scope, seqs beam.PCollection, opt WindowOptions) beam.PCollection
//
// and whose doc comment names the element types it takes and returns.
// The file parsers under it (ParseEvents, ParseItems, ParseUsers) are plain
// Go and usable without Beam.
package transforms
