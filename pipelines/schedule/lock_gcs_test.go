package schedule

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"google.golang.org/api/option"
)

// fakeGCS serves the three calls gcsLock makes, with GCS's semantics for
// the generation preconditions: a multipart upload (ifGenerationMatch=0:
// only if absent), an XML-API read, a delete (ifGenerationMatch=N).
type fakeGCS struct {
	mu      sync.Mutex
	objects map[string]fakeObject // "bucket/object"
	gen     int64
}

type fakeObject struct {
	data []byte
	gen  int64
}

func (f *fakeGCS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	q := r.URL.Query()
	precondition := func(cur int64) bool {
		m := q.Get("ifGenerationMatch")
		if m == "" {
			return true
		}
		want, _ := strconv.ParseInt(m, 10, 64)
		return want == cur
	}
	fail := func(code int) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		fmt.Fprintf(w, `{"error":{"code":%d,"message":"%s"}}`, code, http.StatusText(code))
	}
	path, _ := url.PathUnescape(r.URL.EscapedPath())
	switch {
	case r.Method == http.MethodPost && strings.HasPrefix(path, "/upload/storage/v1/b/"):
		bucket := strings.TrimSuffix(strings.TrimPrefix(path, "/upload/storage/v1/b/"), "/o")
		_, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || q.Get("uploadType") != "multipart" {
			fail(http.StatusBadRequest)
			return
		}
		mr := multipart.NewReader(r.Body, params["boundary"])
		meta, _ := mr.NextPart()
		var name string
		if b, _ := io.ReadAll(meta); true {
			name = jsonField(string(b), "name")
		}
		body, _ := mr.NextPart()
		data, _ := io.ReadAll(body)
		key := bucket + "/" + name
		if !precondition(f.objects[key].gen) {
			fail(http.StatusPreconditionFailed)
			return
		}
		f.gen++
		f.objects[key] = fakeObject{data: data, gen: f.gen}
		crc := binary.BigEndian.AppendUint32(nil, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
		fmt.Fprintf(w, `{"bucket":%q,"name":%q,"generation":"%d","size":"%d","crc32c":%q}`, bucket, name, f.gen, len(data), base64.StdEncoding.EncodeToString(crc))
	case r.Method == http.MethodDelete && strings.HasPrefix(path, "/storage/v1/b/"):
		bucket, object, _ := strings.Cut(strings.TrimPrefix(path, "/storage/v1/b/"), "/o/")
		o, ok := f.objects[bucket+"/"+object]
		switch {
		case !ok:
			fail(http.StatusNotFound)
		case !precondition(o.gen):
			fail(http.StatusPreconditionFailed)
		default:
			delete(f.objects, bucket+"/"+object)
			w.WriteHeader(http.StatusNoContent)
		}
	case r.Method == http.MethodGet:
		o, ok := f.objects[strings.TrimPrefix(path, "/")]
		if !ok {
			fail(http.StatusNotFound)
			return
		}
		w.Header().Set("X-Goog-Generation", strconv.FormatInt(o.gen, 10))
		w.Header().Set("Last-Modified", time.Now().UTC().Format(http.TimeFormat))
		w.Header().Set("Content-Length", strconv.Itoa(len(o.data)))
		w.Write(o.data)
	default:
		fail(http.StatusNotImplemented)
	}
}

// jsonField pulls a string field out of a small JSON object.
func jsonField(js, field string) string {
	_, rest, ok := strings.Cut(js, `"`+field+`":"`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

func fakeGCSLock(t *testing.T, object string) *gcsLock {
	t.Helper()
	srv := httptest.NewServer(&fakeGCS{objects: map[string]fakeObject{}})
	t.Cleanup(srv.Close)
	c, err := storage.NewClient(context.Background(), option.WithEndpoint(srv.URL+"/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatal(err)
	}
	return &gcsLock{client: c, bucket: "bucket", object: object}
}

// The gs:// lock against a fake GCS: create only if absent, read back the
// generation, delete only that generation.
func TestGCSLock(t *testing.T) {
	ctx := context.Background()
	g := fakeGCSLock(t, "runs/dt=2026-11-29/_LOCK")
	defer g.close()
	if _, _, _, err := g.read(ctx); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("read of no lock: %v, want fs.ErrNotExist", err)
	}
	if ok, err := g.create(ctx, []byte("first")); !ok || err != nil {
		t.Fatalf("create: %v %v", ok, err)
	}
	if ok, err := g.create(ctx, []byte("second")); ok || err != nil {
		t.Fatalf("create over a lock: %v %v, want false, nil", ok, err)
	}
	b, ver, _, err := g.read(ctx)
	if err != nil || string(b) != "first" || ver == "" {
		t.Fatalf("read: %q %q %v", b, ver, err)
	}
	if ok, err := g.remove(ctx, ver+"0"); ok || err != nil {
		t.Fatalf("remove of another generation: %v %v, want false, nil", ok, err)
	}
	if ok, err := g.remove(ctx, ver); !ok || err != nil {
		t.Fatalf("remove: %v %v", ok, err)
	}
	if ok, err := g.remove(ctx, ver); ok || err != nil {
		t.Fatalf("remove of a removed lock: %v %v, want false, nil", ok, err)
	}
	// Of concurrent creates exactly one wins.
	var wg sync.WaitGroup
	var mu sync.Mutex
	won := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := g.create(ctx, fmt.Appendf(nil, "run %d", i))
			if err != nil {
				t.Error(err)
			}
			mu.Lock()
			if ok {
				won++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if won != 1 {
		t.Errorf("%d concurrent creates won, want 1", won)
	}
}
