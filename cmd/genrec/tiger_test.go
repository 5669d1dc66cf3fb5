package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTigerCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("tiger:\n  no_such_field: 1\n"), 0o644)
	missing := filepath.Join(dir, "ok.yaml")
	os.WriteFile(missing, []byte("tiger:\n  data: "+filepath.Join(dir, "nope")+"\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"tiger"}, 2},
		{[]string{"tiger", "--config", bad}, 2},
		{[]string{"tiger", "--config", filepath.Join(dir, "absent.yaml")}, 2},
		{[]string{"tiger", "--config", missing}, 1},
		{[]string{"semantic-ids", "--config", missing}, 2},
		{[]string{"semantic-ids", "--config", missing, "--out", filepath.Join(dir, "ids.parquet")}, 1},
		{[]string{"tiger", "--help"}, 0},
	} {
		if got := run(context.Background(), tc.args); got != tc.want {
			t.Errorf("genrec %s: exit %d, want %d", strings.Join(tc.args, " "), got, tc.want)
		}
	}
}

// The checked-in TIGER configs parse with every field known.
func TestTigerConfigsParse(t *testing.T) {
	for _, f := range []string{"demo-tiger.yaml", "beauty-tiger.yaml"} {
		c, err := loadTigerConfig(filepath.Join("..", "..", "configs", f))
		if err != nil {
			t.Fatal(err)
		}
		if c.Data == "" || c.Train.ModelPath == "" || c.Model.Dim == 0 {
			t.Errorf("%s: %+v", f, c)
		}
	}
}
