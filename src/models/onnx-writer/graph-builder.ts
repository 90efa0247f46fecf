// A small builder for ONNX graphs on top of the maintained `onnx-proto` message classes. It exists so the
// project can write its own trained models (offline encoders, classifier) as standard ONNX files that
// onnxruntime runs, without a Python toolchain.
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** ONNX opset used by every graph the project writes (opset 17: LayerNormalization, ReduceMean with attribute axes). */
export const OPSET = 17;
/** IR version 8 matches opset 17 and the onnx-proto schema (ONNX 1.10). */
const IR_VERSION = 8;

export type DimSpec = number | string;
export type ElemType = 'float32' | 'int64' | 'int32';

const ELEM: Record<ElemType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  int32: onnx.TensorProto.DataType.INT32,
};

export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') return { name, type: T.INT, i: v };
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}

function valueInfo(name: string, type: ElemType, shape: DimSpec[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM[type],
        shape: { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function rawBytes(data: Float32Array | BigInt64Array | Int32Array): Uint8Array {
  // ONNX raw_data is little-endian; typed arrays are host-endian, which is little-endian on every
  // platform onnxruntime-node supports. Copy so the proto owns an exact-length buffer.
  return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

/** Collects nodes, initializers, inputs and outputs; `encode()` returns the serialised model bytes. */
export class GraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  constructor(private readonly graphName: string) {}

  /** A fresh, unique tensor name with a readable prefix. */
  fresh(prefix: string): string {
    let name = `${prefix}_${this.counter++}`;
    while (this.names.has(name)) name = `${prefix}_${this.counter++}`;
    this.names.add(name);
    return name;
  }

  input(name: string, type: ElemType, shape: DimSpec[]): string {
    this.claim(name);
    this.inputs.push(valueInfo(name, type, shape));
    return name;
  }

  output(name: string, type: ElemType, shape: DimSpec[]): void {
    this.outputs.push(valueInfo(name, type, shape));
  }

  /** Adds a constant tensor (weights, shapes, axes) and returns its name. */
  init(prefix: string, dims: number[], data: Float32Array | BigInt64Array | Int32Array | number[]): string {
    const name = this.fresh(prefix);
    const arr = Array.isArray(data) ? new BigInt64Array(data.map((x) => BigInt(x))) : data;
    const count = dims.reduce((a, b) => a * b, 1);
    if (arr.length !== count) {
      throw new Error(`Initializer ${name} has ${arr.length} values but dims ${JSON.stringify(dims)} need ${count}; fix the caller's shapes.`);
    }
    const dataType = arr instanceof Float32Array ? ELEM.float32 : arr instanceof BigInt64Array ? ELEM.int64 : ELEM.int32;
    this.initializers.push({ name, dims, dataType, rawData: rawBytes(arr) });
    return name;
  }

  /** Adds a node; `outputs` names may be given (graph outputs) or are generated. Returns the output names. */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs?: string[] | number): string[] {
    const outs = Array.isArray(outputs)
      ? outputs.map((o) => (this.claim(o), o))
      : Array.from({ length: outputs ?? 1 }, () => this.fresh(opType.toLowerCase()));
    this.nodes.push({
      opType,
      name: this.fresh(`n_${opType}`),
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outs;
  }

  /** Single-output convenience form of `node`. */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    const [out] = this.node(opType, inputs, attrs, output === undefined ? 1 : [output]);
    return out!;
  }

  encode(docString = ''): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: IR_VERSION,
      producerName: 'listing-pipeline',
      producerVersion: '0.1.0',
      docString,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`Tensor name "${name}" is used twice in graph ${this.graphName}; pick a unique name.`);
    this.names.add(name);
  }
}
