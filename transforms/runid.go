package transforms

import (
	"crypto/rand"
	"encoding/hex"
	"time"
)

// NewRunID returns a fresh id for a pipeline run's temporary folder: the
// UTC time and 4 random bytes.
func NewRunID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return time.Now().UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}
