package schedule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/util/gcsx"
	"google.golang.org/api/googleapi"
)

// gcsLock is a lock object on Cloud Storage. create uploads with the
// precondition "does not exist" (ifGenerationMatch=0), which GCS applies
// atomically: of two concurrent creates one gets 412 Precondition Failed.
// The version is the object's generation, and remove deletes only that
// generation, so a run never deletes a lock another run took since.
type gcsLock struct {
	client         *storage.Client
	bucket, object string
}

func newGCSLock(ctx context.Context, path string) (lockStore, error) {
	bucket, object, err := gcsx.ParseObject(path)
	if err != nil {
		return nil, fmt.Errorf("schedule: lock %s: %w", path, err)
	}
	client, err := gcsx.NewClient(ctx, storage.ScopeReadWrite)
	if err != nil {
		return nil, fmt.Errorf("schedule: lock %s: %w", path, err)
	}
	return &gcsLock{client: client, bucket: bucket, object: object}, nil
}

func (g *gcsLock) obj() *storage.ObjectHandle { return g.client.Bucket(g.bucket).Object(g.object) }

func (g *gcsLock) create(ctx context.Context, data []byte) (bool, error) {
	w := g.obj().If(storage.Conditions{DoesNotExist: true}).NewWriter(ctx)
	w.ChunkSize = 0 // one request
	w.ContentType = "application/json"
	if _, err := w.Write(data); err != nil {
		w.Close()
		if preconditionFailed(err) {
			return false, nil
		}
		return false, err
	}
	if err := w.Close(); err != nil {
		if preconditionFailed(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

func (g *gcsLock) read(ctx context.Context) ([]byte, string, time.Time, error) {
	r, err := g.obj().NewReader(ctx)
	if errors.Is(err, storage.ErrObjectNotExist) {
		return nil, "", time.Time{}, fs.ErrNotExist
	}
	if err != nil {
		return nil, "", time.Time{}, err
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, "", time.Time{}, err
	}
	return b, strconv.FormatInt(r.Attrs.Generation, 10), r.Attrs.LastModified, nil
}

func (g *gcsLock) remove(ctx context.Context, version string) (bool, error) {
	gen, err := strconv.ParseInt(version, 10, 64)
	if err != nil || gen == 0 {
		return false, fmt.Errorf("bad lock generation %q", version)
	}
	err = g.obj().If(storage.Conditions{GenerationMatch: gen}).Delete(ctx)
	switch {
	case err == nil:
		return true, nil
	case preconditionFailed(err), errors.Is(err, storage.ErrObjectNotExist):
		return false, nil
	}
	return false, err
}

func (g *gcsLock) close() error { return g.client.Close() }

func preconditionFailed(err error) bool {
	var e *googleapi.Error
	return errors.As(err, &e) && e.Code == http.StatusPreconditionFailed
}
