// Tiny hand-built ONNX models for tests and smoke checks, so the runtime and registry can be exercised
// against the real onnxruntime without shipping model files. Not used on any serving path.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;
const FLOAT = 1;

function valueInfo(name: string, dims: (number | string)[]) {
  return onnx.ValueInfoProto.create({
    name,
    type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } } },
  });
}

function modelBytes(graph: InstanceType<typeof onnx.GraphProto>): Uint8Array {
  return onnx.ModelProto.encode(
    onnx.ModelProto.create({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'listing-pipeline-tests', graph }),
  ).finish();
}

/** y = relu(x) + 1, x: [batch, width] float32. Input "x", output "y". */
export function tinyElementwiseModel(width = 4): Uint8Array {
  return modelBytes(
    onnx.GraphProto.create({
      name: 'tiny',
      node: [
        onnx.NodeProto.create({ opType: 'Relu', input: ['x'], output: ['r'] }),
        onnx.NodeProto.create({ opType: 'Add', input: ['r', 'one'], output: ['y'] }),
      ],
      initializer: [onnx.TensorProto.create({ name: 'one', dataType: FLOAT, dims: [1], floatData: [1] })],
      input: [valueInfo('x', ['batch', width])],
      output: [valueInfo('y', ['batch', width])],
    }),
  );
}

/**
 * A ResNet-shaped classifier in miniature: pixel_values [N,3,H,W] -> GlobalAveragePool -> Flatten ->
 * Gemm(3 -> classes) -> "logits". Its pooled features are the per-channel means of the image.
 */
export function tinyBackboneModel(classes = 5): Uint8Array {
  const weights = Array.from({ length: 3 * classes }, (_, i) => ((i % 7) - 3) / 10);
  return modelBytes(
    onnx.GraphProto.create({
      name: 'tiny-backbone',
      node: [
        onnx.NodeProto.create({ opType: 'GlobalAveragePool', input: ['pixel_values'], output: ['pooled'] }),
        onnx.NodeProto.create({ opType: 'Flatten', input: ['pooled'], output: ['flat'], attribute: [{ name: 'axis', type: 2, i: 1 }] }),
        onnx.NodeProto.create({ opType: 'Gemm', input: ['flat', 'w', 'b'], output: ['logits'] }),
      ],
      initializer: [
        onnx.TensorProto.create({ name: 'w', dataType: FLOAT, dims: [3, classes], floatData: weights }),
        onnx.TensorProto.create({ name: 'b', dataType: FLOAT, dims: [classes], floatData: new Array<number>(classes).fill(0) }),
      ],
      input: [valueInfo('pixel_values', ['batch_size', 3, 'height', 'width'])],
      output: [valueInfo('logits', ['batch_size', classes])],
    }),
  );
}
