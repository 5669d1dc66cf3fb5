package preprocess_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/genrec/genrec/pipelines/preprocess"
)

// sharedData finds ../shared/data (or $GENREC_DATA) and skips when absent:
// the licensed data sets cannot ship with the repository.
func sharedData(t *testing.T, rel string) string {
	t.Helper()
	root := os.Getenv("GENREC_DATA")
	if root == "" {
		root = filepath.Join("..", "..", "..", "shared", "data")
	}
	p := filepath.Join(root, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data %s not present (set GENREC_DATA to the shared data folder): %v", p, err)
	}
	return p
}

func TestRealDataCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("real data: skipped with -short")
	}
	for _, tc := range []struct {
		file, format string
		events       int64
		users, items int
	}{
		// Counts from each data set's PROVENANCE.txt / README.
		{"ml-100k/u.data", "ml-100k", 100000, 943, 1682},
		{"amazon-beauty-s3rec/Beauty.txt", "seq-lines", 198502, 22363, 12101},
		{"ml-latest-small/ratings.csv", "ml-csv", 100836, 610, 9724},
	} {
		t.Run(tc.format, func(t *testing.T) {
			input := sharedData(t, tc.file)
			sum, err := run(t, preprocess.Config{Inputs: []string{input}, Format: tc.format, MaxSeqLen: 50, OutDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if sum.EventsRead != tc.events || sum.Events != tc.events || sum.Users != tc.users || sum.Items != tc.items || sum.BadLines != 0 {
				t.Errorf("events %d (in sequences %d), users %d, items %d, bad %d; want %d, %d, %d, 0",
					sum.EventsRead, sum.Events, sum.Users, sum.Items, sum.BadLines, tc.events, tc.users, tc.items)
			}
			if sum.Rows["test"] != int64(tc.users) || sum.Rows["valid"] != int64(tc.users) {
				t.Errorf("valid/test rows %d/%d, want one per user (%d)", sum.Rows["valid"], sum.Rows["test"], tc.users)
			}
		})
	}
}
