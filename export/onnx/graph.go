package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
)

// The versions every exported file declares: IR 8 with the default domain at
// opset 17, the newest pair that both Debian's python3-onnx (1.12) checker
// and onnxruntime accept, and the first opset with LayerNormalization.
const (
	IRVersion = 8
	Opset     = 17
)

// Element types of graph values.
const (
	tFloat  = pb.TensorProto_FLOAT
	tInt64  = pb.TensorProto_INT64
	tInt8   = pb.TensorProto_INT8
	tDouble = pb.TensorProto_DOUBLE
)

// graph accumulates the nodes, initialisers, inputs and outputs of one ONNX
// graph. Values are named by strings; every helper returns the name of the
// value it produced, so a model reads as the equations it implements.
type graph struct {
	name    string
	nodes   []*pb.NodeProto
	inits   []*pb.TensorProto
	inputs  []*pb.ValueInfoProto
	outputs []*pb.ValueInfoProto
	seq     int
	consts  map[string]string // scalar and small constants, deduplicated by content
	bytes   int64             // initialiser payload so far
}

func newGraph(name string) *graph { return &graph{name: name, consts: map[string]string{}} }

// dim is one dimension of a declared input or output: a fixed size or a
// symbolic name such as "batch".
type dim struct {
	size  int64
	param string
}

func fixed(n int) dim       { return dim{size: int64(n)} }
func symbolic(s string) dim { return dim{param: s} }
func (d dim) String() string {
	return map[bool]string{true: d.param, false: fmt.Sprint(d.size)}[d.param != ""]
}

func valueInfo(name string, t pb.TensorProto_DataType, dims []dim, doc string) *pb.ValueInfoProto {
	shape := &pb.TensorShapeProto{}
	for _, d := range dims {
		sd := &pb.TensorShapeProto_Dimension{}
		if d.param != "" {
			sd.Value = &pb.TensorShapeProto_Dimension_DimParam{DimParam: d.param}
		} else {
			sd.Value = &pb.TensorShapeProto_Dimension_DimValue{DimValue: d.size}
		}
		shape.Dim = append(shape.Dim, sd)
	}
	return &pb.ValueInfoProto{
		Name:      name,
		DocString: doc,
		Type: &pb.TypeProto{Value: &pb.TypeProto_TensorType{TensorType: &pb.TypeProto_Tensor{
			ElemType: int32(t), Shape: shape,
		}}},
	}
}

// input declares a graph input.
func (g *graph) input(name string, t pb.TensorProto_DataType, doc string, dims ...dim) string {
	g.inputs = append(g.inputs, valueInfo(name, t, dims, doc))
	return name
}

// output declares value as the graph output name (an Identity renames it).
func (g *graph) output(value, name string, t pb.TensorProto_DataType, doc string, dims ...dim) {
	g.nodes = append(g.nodes, &pb.NodeProto{OpType: "Identity", Input: []string{value}, Output: []string{name}, Name: name})
	g.outputs = append(g.outputs, valueInfo(name, t, dims, doc))
}

// attr is one node attribute; build them with the helpers below.
type attr = *pb.AttributeProto

func aInt(name string, v int64) attr {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INT, I: v}
}
func aInts(name string, v ...int64) attr {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_INTS, Ints: v}
}
func aFloat(name string, v float32) attr {
	return &pb.AttributeProto{Name: name, Type: pb.AttributeProto_FLOAT, F: v}
}

// op adds a node with outs outputs and returns their names.
func (g *graph) opN(op string, outs int, inputs []string, attrs ...attr) []string {
	g.seq++
	n := &pb.NodeProto{OpType: op, Name: fmt.Sprintf("%s_%d", op, g.seq), Input: inputs, Attribute: attrs}
	for i := range outs {
		n.Output = append(n.Output, fmt.Sprintf("%s_%d_%d", op, g.seq, i))
	}
	g.nodes = append(g.nodes, n)
	return n.Output
}

// op adds a node with one output and returns its name.
func (g *graph) op(op string, inputs []string, attrs ...attr) string {
	return g.opN(op, 1, inputs, attrs...)[0]
}

// Shorthands for the operators the models use (ONNX opset 17 semantics).
func (g *graph) add(a, b string) string         { return g.op("Add", []string{a, b}) }
func (g *graph) sub(a, b string) string         { return g.op("Sub", []string{a, b}) }
func (g *graph) mul(a, b string) string         { return g.op("Mul", []string{a, b}) }
func (g *graph) div(a, b string) string         { return g.op("Div", []string{a, b}) }
func (g *graph) matmul(a, b string) string      { return g.op("MatMul", []string{a, b}) }
func (g *graph) gather(data, idx string) string { return g.op("Gather", []string{data, idx}) }
func (g *graph) cast(x string, to pb.TensorProto_DataType) string {
	return g.op("Cast", []string{x}, aInt("to", int64(to)))
}
func (g *graph) transpose(x string, perm ...int64) string {
	return g.op("Transpose", []string{x}, aInts("perm", perm...))
}
func (g *graph) reshape(x string, shape ...int64) string {
	return g.op("Reshape", []string{x, g.ints(shape...)})
}
func (g *graph) unsqueeze(x string, axes ...int64) string {
	return g.op("Unsqueeze", []string{x, g.ints(axes...)})
}
func (g *graph) where(cond, a, b string) string { return g.op("Where", []string{cond, a, b}) }

// silu is x * sigmoid(x).
func (g *graph) silu(x string) string { return g.mul(x, g.op("Sigmoid", []string{x})) }

// layerNorm normalises the last axis without affine parameters:
// LayerNormalization with unit scale and zero bias, eps as HSTU's.
func (g *graph) layerNorm(x string, width int, eps float32) string {
	scale := g.constFloats(fmt.Sprintf("ln_scale_%d", width), []int64{int64(width)}, ones(width))
	bias := g.constFloats(fmt.Sprintf("ln_bias_%d", width), []int64{int64(width)}, make([]float32, width))
	return g.op("LayerNormalization", []string{x, scale, bias}, aInt("axis", -1), aFloat("epsilon", eps))
}

// l2Normalize divides the rows of x (last axis) by max(||x||, eps).
func (g *graph) l2Normalize(x string, eps float32) string {
	ss := g.op("ReduceSumSquare", []string{x}, aInts("axes", -1), aInt("keepdims", 1))
	n := g.op("Max", []string{g.op("Sqrt", []string{ss}), g.float(eps)})
	return g.div(x, n)
}

// dimOf returns dimension axis of x's shape as a 1-element int64 tensor.
func (g *graph) dimOf(x string, axis int64) string {
	return g.op("Shape", []string{x}, aInt("start", axis), aInt("end", axis+1))
}

func ones(n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// ints returns a constant 1-D int64 tensor (deduplicated).
func (g *graph) ints(v ...int64) string {
	return g.constInts(fmt.Sprint("ints", v), []int64{int64(len(v))}, v)
}

// int returns a constant int64 scalar.
func (g *graph) int(v int64) string { return g.constInts(fmt.Sprint("int", v), nil, []int64{v}) }

// float returns a constant float scalar.
func (g *graph) float(v float32) string {
	return g.constFloats(fmt.Sprint("float", math.Float32bits(v)), nil, []float32{v})
}

// double returns a constant double scalar.
func (g *graph) double(v float64) string {
	key := fmt.Sprint("double", math.Float64bits(v))
	if n, ok := g.consts[key]; ok {
		return n
	}
	raw := binary.LittleEndian.AppendUint64(nil, math.Float64bits(v))
	name := fmt.Sprintf("const_%d", len(g.consts))
	g.consts[key] = name
	g.inits = append(g.inits, &pb.TensorProto{Name: name, DataType: int32(tDouble), RawData: raw})
	return name
}

func (g *graph) constInts(key string, dims []int64, v []int64) string {
	if n, ok := g.consts[key]; ok {
		return n
	}
	name := fmt.Sprintf("const_%d", len(g.consts))
	g.consts[key] = name
	g.inits = append(g.inits, &pb.TensorProto{Name: name, DataType: int32(tInt64), Dims: dims, Int64Data: v})
	return name
}

func (g *graph) constFloats(key string, dims []int64, v []float32) string {
	if n, ok := g.consts[key]; ok {
		return n
	}
	name := fmt.Sprintf("const_%d", len(g.consts))
	g.consts[key] = name
	g.initFloats(name, dims, v)
	return name
}

// initFloats adds a named float initialiser (a weight), stored raw.
func (g *graph) initFloats(name string, dims []int64, v []float32) string {
	checkDims(name, dims, len(v))
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	g.bytes += int64(len(raw))
	g.inits = append(g.inits, &pb.TensorProto{Name: name, DataType: int32(tFloat), Dims: dims, RawData: raw})
	return name
}

// initInt8 adds a named int8 initialiser.
func (g *graph) initInt8(name string, dims []int64, v []int8) string {
	checkDims(name, dims, len(v))
	raw := make([]byte, len(v))
	for i, x := range v {
		raw[i] = byte(x)
	}
	g.bytes += int64(len(raw))
	g.inits = append(g.inits, &pb.TensorProto{Name: name, DataType: int32(tInt8), Dims: dims, RawData: raw})
	return name
}

func checkDims(name string, dims []int64, n int) {
	p := int64(1)
	for _, d := range dims {
		p *= d
	}
	if p != int64(n) {
		panic(fmt.Sprintf("onnx: initialiser %s: dims %v hold %d values, got %d", name, dims, p, n))
	}
}

// model wraps the graph in a ModelProto of IRVersion and Opset.
func (g *graph) model(doc string, meta map[string]string) *pb.ModelProto {
	m := &pb.ModelProto{
		IrVersion:    IRVersion,
		OpsetImport:  []*pb.OperatorSetIdProto{{Domain: "", Version: Opset}},
		ProducerName: "genrec",
		DocString:    doc,
		Graph: &pb.GraphProto{
			Name: g.name, Node: g.nodes, Initializer: g.inits, Input: g.inputs, Output: g.outputs,
		},
	}
	for _, k := range sortedKeys(meta) {
		m.MetadataProps = append(m.MetadataProps, &pb.StringStringEntryProto{Key: k, Value: meta[k]})
	}
	return m
}
