package onnx

import (
	"context"
	"fmt"

	pb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"github.com/genrec/genrec/transforms"
)

// Marshal encodes m in the protobuf wire format of a .onnx file.
func Marshal(m *pb.ModelProto) ([]byte, error) {
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: encode model: %w", err)
	}
	return b, nil
}

// Write encodes m and writes it to path (local or gs://) atomically: a
// failed write leaves no file at path. It returns the bytes written.
func Write(ctx context.Context, path string, m *pb.ModelProto) ([]byte, error) {
	b, err := Marshal(m)
	if err != nil {
		return nil, err
	}
	if err := transforms.WriteFileAtomic(ctx, path, b); err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	return b, nil
}
