import pkg, { type onnx as O } from 'onnx-proto';
import type { DenseWeights } from './tf-runtime.ts';

const { onnx } = pkg;

/** ONNX IR version of exported models (loads on every ONNX Runtime 1.2x / 1.30; SETUP-NOTES). */
export const ONNX_IR_VERSION = 8;
/** Default-domain opset of exported models. */
export const ONNX_OPSET = 17;
/** Name of the symbolic batch dimension on every input and output. */
export const BATCH_DIM = 'batch';

/**
 * A small builder for inference graphs made of dense layers. Weights become Float32 initializers
 * stored as raw little-endian bytes; every tensor name is unique within the graph.
 */
export class GraphBuilder {
  readonly nodes: O.INodeProto[] = [];
  readonly initializers: O.ITensorProto[] = [];
  #counter = 0;

  /** A fresh tensor name with the given prefix. */
  fresh(prefix: string): string {
    return `${prefix}_${this.#counter++}`;
  }

  /** Adds a float32 initializer and returns its name. */
  floatConst(prefix: string, values: Float32Array, dims: number[]): string {
    const name = this.fresh(prefix);
    this.initializers.push({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)),
    });
    return name;
  }

  /** Adds an int64 initializer (shapes, axes) and returns its name. */
  int64Const(prefix: string, values: readonly number[]): string {
    const name = this.fresh(prefix);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      rawData: new Uint8Array(data.buffer),
    });
    return name;
  }

  /** Adds a node; `output` defaults to a fresh name. Returns the output name. */
  op(opType: string, inputs: string[], output?: string, attribute: O.IAttributeProto[] = []): string {
    const out = output ?? this.fresh(opType.toLowerCase());
    this.nodes.push({ opType, input: inputs, output: [out], name: this.fresh(`n_${opType}`), attribute });
    return out;
  }

  /** `Gemm(x, kernel, bias)` then the layer's activation (ReLU or none). Returns the output name. */
  dense(x: string, w: DenseWeights, prefix: string, output?: string): string {
    const k = this.floatConst(`${prefix}_kernel`, w.kernel, [w.inDim, w.outDim]);
    const b = this.floatConst(`${prefix}_bias`, w.bias, [w.outDim]);
    if (w.activation === 'linear') return this.op('Gemm', [x, k, b], output);
    const y = this.op('Gemm', [x, k, b]);
    if (w.activation === 'relu') return this.op('Relu', [y], output);
    throw new TypeError(`GraphBuilder.dense: unsupported activation ${w.activation}`);
  }

  /** Row-wise `x / sqrt(max(Σx², 1e-12))` (opset ≥ 13: ReduceSum takes axes as an input). */
  l2NormalizeRows(x: string, output?: string): string {
    const sq = this.op('Mul', [x, x]);
    const axes = this.int64Const('axes', [1]);
    const sum = this.op('ReduceSum', [sq, axes], undefined, [intAttr('keepdims', 1)]);
    const eps = this.floatConst('eps', Float32Array.of(1e-12), []);
    const norm = this.op('Sqrt', [this.op('Max', [sum, eps])]);
    return this.op('Div', [x, norm], output);
  }

  /**
   * Encodes the model (IR 8, opset 17) with float32 inputs/outputs of shape `[batch, width]`.
   * @returns the serialized `ModelProto` bytes `InferenceSession.create` accepts
   */
  encode(
    graphName: string,
    inputs: { name: string; width: number }[],
    outputs: { name: string; width: number }[],
    docString: string,
    metadata: Record<string, string> = {},
  ): Uint8Array {
    const model: O.IModelProto = {
      irVersion: ONNX_IR_VERSION,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      producerName: 'reclab',
      producerVersion: '0.1.0',
      docString,
      metadataProps: Object.entries(metadata).map(([key, value]) => ({ key, value })),
      graph: {
        name: graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: inputs.map((i) => floatValueInfo(i.name, i.width)),
        output: outputs.map((o) => floatValueInfo(o.name, o.width)),
      },
    };
    return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
  }
}

function floatValueInfo(name: string, width: number): O.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: [{ dimParam: BATCH_DIM }, { dimValue: width }] },
      },
    },
  };
}

/** An INT attribute (`axis`, `keepdims`, …). */
export function intAttr(name: string, value: number): O.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INT, i: value };
}
