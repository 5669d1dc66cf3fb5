package gcstest_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
)

const bucket = "genrec-test"

// fault decides the fate of one request to the fake GCS server: 0 lets it
// through, an HTTP status fails it with that status. name is the object
// the request is about (see requestObject).
type fault func(method, name string) int

// injector applies the fault set last to every request; it counts the
// requests it failed.
type injector struct {
	mu     sync.Mutex
	f      fault
	failed int
}

// Set makes f decide the fate of the requests from now on (nil: none
// fails).
func (in *injector) Set(f fault) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.f, in.failed = f, 0
}

// Failed is how many requests failed since the last Set.
func (in *injector) Failed() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.failed
}

func (in *injector) decide(r *http.Request) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.f == nil {
		return 0
	}
	code := in.f(r.Method, requestObject(r))
	if code != 0 {
		in.failed++
	}
	return code
}

// startFakeGCS starts fake-gcs-server in-process with an empty bucket and
// points STORAGE_EMULATOR_HOST at it, so that every GCS client made after
// it (Beam's gcs filesystem makes one per filesystem.New) talks to it.
// With in nil the server listens itself on 127.0.0.1; otherwise it runs
// without a listener, behind an httptest server on 127.0.0.1 that asks in
// first whether to fail each request.
func startFakeGCS(t *testing.T, in *injector) *fakestorage.Server {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", Port: 0, NoListener: in != nil,
		PublicHost: "127.0.0.1", // where the client's XML-API reads go; without it they 404
		Writer:     io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	host := strings.TrimPrefix(srv.URL(), "http://")
	if in != nil {
		inner := srv.HTTPHandler()
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if code := in.decide(r); code != 0 {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(code)
				fmt.Fprintf(w, `{"error":{"code":%d,"message":"injected fault"}}`, code)
				return
			}
			inner.ServeHTTP(w, r)
		}))
		t.Cleanup(hs.Close)
		host = strings.TrimPrefix(hs.URL, "http://")
	}
	t.Setenv("STORAGE_EMULATOR_HOST", host)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: bucket})
	return srv
}

// requestObject is the object a GCS request is about: the name parameter
// of an upload, the last object of a JSON-API URL
// (/storage/v1/b/B/o/NAME; for a copy, .../rewriteTo/b/B/o/DEST: the
// destination), the object of an XML-API read (/B/NAME); "" for a list.
func requestObject(r *http.Request) string {
	p, _ := url.PathUnescape(r.URL.EscapedPath())
	switch {
	case strings.HasPrefix(p, "/upload/"):
		return r.URL.Query().Get("name")
	case strings.HasPrefix(p, "/storage/v1/b/"):
		if i := strings.LastIndex(p, "/o/"); i >= 0 {
			return p[i+len("/o/"):]
		}
		return ""
	}
	return strings.TrimPrefix(p, "/"+bucket+"/")
}

// objects lists the names of every object in the bucket, sorted.
func objects(t *testing.T, srv *fakestorage.Server) []string {
	t.Helper()
	objs, _, err := srv.ListObjectsWithOptions(bucket, fakestorage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, o := range objs {
		names = append(names, o.Name)
	}
	slices.Sort(names)
	return names
}

func put(t *testing.T, srv *fakestorage.Server, name string, data []byte) {
	t.Helper()
	srv.CreateObject(fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: name}, Content: data})
}
