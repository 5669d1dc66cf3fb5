package onnx

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	ort "github.com/yalue/onnxruntime_go"
)

// ErrNoRuntime is returned when the onnxruntime shared library cannot be
// found. Its message says how to install one.
var ErrNoRuntime = errors.New("onnx: onnxruntime not found: set ONNXRUNTIME_LIB to libonnxruntime.so, " +
	"or run `make deps` (it installs npm onnxruntime-node@1.30.0 into .cache/ort)")

// npmLib is where .ci/deps puts onnxruntime-node's library, relative to the
// repository root.
const npmLib = ".cache/ort/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1"

// RuntimeLibrary returns the onnxruntime shared library this process would
// load: $ONNXRUNTIME_LIB; else the npm copy that `make deps` installs under
// the repository holding the working directory or this executable (each
// searched upwards, so bin/genrec finds it from any directory); else a
// system copy in /usr/local/lib or /usr/lib; else ErrNoRuntime.
func RuntimeLibrary() (string, error) {
	if p := os.Getenv("ONNXRUNTIME_LIB"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("onnx: ONNXRUNTIME_LIB: %w", err)
		}
		return p, nil
	}
	var starts []string
	if dir, err := os.Getwd(); err == nil {
		starts = append(starts, dir)
	}
	if exe, err := os.Executable(); err == nil {
		if exe, err := filepath.EvalSymlinks(exe); err == nil {
			starts = append(starts, filepath.Dir(exe))
		}
	}
	return findRuntime(starts, systemLibs)
}

// systemLibs are the system-wide places onnxruntime's own release tarball
// and distribution packages put the library.
var systemLibs = []string{
	"/usr/local/lib/libonnxruntime.so",
	"/usr/lib/x86_64-linux-gnu/libonnxruntime.so",
	"/usr/lib/libonnxruntime.so",
}

// findRuntime returns the first npmLib found in a start directory or one
// of its parents, else the first of system that exists, else ErrNoRuntime.
func findRuntime(starts, system []string) (string, error) {
	for _, dir := range starts {
		for {
			p := filepath.Join(dir, npmLib)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
			up := filepath.Dir(dir)
			if up == dir {
				break
			}
			dir = up
		}
	}
	for _, p := range system {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", ErrNoRuntime
}

var runtimeOnce struct {
	sync.Once
	err error
}

// InitRuntime loads onnxruntime once per process (see RuntimeLibrary).
func InitRuntime() error {
	runtimeOnce.Do(func() {
		lib, err := RuntimeLibrary()
		if err != nil {
			runtimeOnce.err = err
			return
		}
		ort.SetSharedLibraryPath(lib)
		if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
			runtimeOnce.err = fmt.Errorf("onnx: load %s: %w", lib, err)
		}
	})
	return runtimeOnce.err
}

// Session runs an exported retrieval model in onnxruntime. It is safe for
// use by one goroutine at a time.
type Session struct {
	s       *ort.DynamicAdvancedSession
	inputs  []string
	outputs []string
}

// SessionOptions tune a Session.
type SessionOptions struct {
	Threads int // intra-op threads; 0 lets onnxruntime choose
}

// NewSession loads the model in file path (or data, when not nil).
func NewSession(path string, data []byte, opt SessionOptions) (*Session, error) {
	if err := InitRuntime(); err != nil {
		return nil, err
	}
	var (
		in, out []ort.InputOutputInfo
		err     error
	)
	if data != nil {
		in, out, err = ort.GetInputOutputInfoWithONNXData(data)
	} else {
		in, out, err = ort.GetInputOutputInfo(path)
	}
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	s := &Session{}
	for _, i := range in {
		s.inputs = append(s.inputs, i.Name)
	}
	for _, o := range out {
		s.outputs = append(s.outputs, o.Name)
	}
	so, err := ort.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("onnx: session options: %w", err)
	}
	defer so.Destroy()
	if opt.Threads > 0 {
		if err := so.SetIntraOpNumThreads(opt.Threads); err != nil {
			return nil, fmt.Errorf("onnx: threads: %w", err)
		}
		if err := so.SetInterOpNumThreads(1); err != nil {
			return nil, fmt.Errorf("onnx: threads: %w", err)
		}
	}
	if data != nil {
		s.s, err = ort.NewDynamicAdvancedSessionWithONNXData(data, s.inputs, s.outputs, so)
	} else {
		s.s, err = ort.NewDynamicAdvancedSession(path, s.inputs, s.outputs, so)
	}
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return s, nil
}

// Close frees the session.
func (s *Session) Close() error { return s.s.Destroy() }

// Inputs and Outputs name the model's inputs and outputs in file order.
func (s *Session) Inputs() []string  { return s.inputs }
func (s *Session) Outputs() []string { return s.outputs }

// Request is one batch of B left-aligned rows of length S.
type Request struct {
	B, S       int
	Items      []int64 // B*S encoded item ids, 0 at padding
	Lengths    []int64 // B valid lengths in [1, S]
	Times      []int64 // B*S Unix times (time-bias models)
	QueryTimes []int64 // B request times (time-bias models)
	Users      []int64 // B encoded user ids (user-side-feature models)
}

// Response holds the outputs of one Run, each row-major.
type Response struct {
	User      []float32 // B x d
	Scores    []float32 // B x items
	TopItems  []int64   // B x k
	TopScores []float32 // B x k
}

// Run checks r and runs the model on it.
func (s *Session) Run(r Request) (Response, error) {
	if err := r.check(); err != nil {
		return Response{}, err
	}
	out, err := s.run(map[string]any{
		InItemIDs: r.Items, InLengths: r.Lengths, InTimestamps: r.Times,
		InQueryTime: r.QueryTimes, InUserIDs: r.Users,
	}, r.B, r.S, map[string]bool{InItemIDs: true, InTimestamps: true})
	if err != nil {
		return Response{}, err
	}
	var resp Response
	resp.User, _ = out[OutUser].([]float32)
	resp.Scores, _ = out[OutScores].([]float32)
	resp.TopScores, _ = out[OutTopScores].([]float32)
	resp.TopItems, _ = out[OutTopItems].([]int64)
	return resp, nil
}

// run feeds the model's inputs from vals ([]int64 or []float32; shape
// [b, s] for the names in twoD, [b] otherwise) and returns every output by
// name, as []float32 or []int64.
func (s *Session) run(vals map[string]any, b, seq int, twoD map[string]bool) (map[string]any, error) {
	inputs := make([]ort.Value, len(s.inputs))
	defer func() {
		for _, v := range inputs {
			if v != nil {
				v.Destroy()
			}
		}
	}()
	for i, name := range s.inputs {
		v, ok := vals[name]
		if !ok {
			return nil, fmt.Errorf("onnx: the model wants input %q, which genrec does not know", name)
		}
		shape := ort.NewShape(int64(b))
		if twoD[name] {
			shape = ort.NewShape(int64(b), int64(seq))
		}
		var (
			t   ort.Value
			n   int
			err error
		)
		switch v := v.(type) {
		case []int64:
			n = len(v)
			if int64(n) == shape.FlattenedSize() {
				t, err = ort.NewTensor(shape, v)
			}
		case []float32:
			n = len(v)
			if int64(n) == shape.FlattenedSize() {
				t, err = ort.NewTensor(shape, v)
			}
		default:
			return nil, fmt.Errorf("onnx: input %s: unsupported type %T", name, v)
		}
		if int64(n) != shape.FlattenedSize() {
			return nil, fmt.Errorf("onnx: input %s has %d values, want %d (%v)", name, n, shape.FlattenedSize(), shape)
		}
		if err != nil {
			return nil, fmt.Errorf("onnx: input %s: %w", name, err)
		}
		inputs[i] = t
	}
	outputs := make([]ort.Value, len(s.outputs))
	if err := s.s.Run(inputs, outputs); err != nil {
		return nil, fmt.Errorf("onnx: run: %w", err)
	}
	res := make(map[string]any, len(s.outputs))
	for i, name := range s.outputs {
		switch t := outputs[i].(type) {
		case *ort.Tensor[float32]:
			res[name] = append([]float32(nil), t.GetData()...)
		case *ort.Tensor[int64]:
			res[name] = append([]int64(nil), t.GetData()...)
		}
		outputs[i].Destroy()
	}
	return res, nil
}

func (r Request) check() error {
	if r.B < 1 || r.S < 1 {
		return fmt.Errorf("onnx: request of %d rows of length %d", r.B, r.S)
	}
	if len(r.Lengths) != r.B {
		return fmt.Errorf("onnx: %d lengths for %d rows", len(r.Lengths), r.B)
	}
	for i, n := range r.Lengths {
		if n < 1 || n > int64(r.S) {
			return fmt.Errorf("onnx: row %d: length %d not in [1, %d]", i, n, r.S)
		}
	}
	return nil
}
