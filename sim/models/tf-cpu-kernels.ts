import * as tf from '@tensorflow/tfjs';

/**
 * Faster float32 kernels for tfjs's pure-JS CPU backend, registered in place of the stock ones.
 *
 * Why: tfjs-node (native TensorFlow) cannot be installed here, and the stock CPU kernels are slow in
 * exactly the shapes small MLP training uses. Broadcasting binary ops (`[B,H] + [H]` for every dense
 * bias, `[B,D] / [B,1]` for L2 normalisation, and the gradients of every reduction) take a generic
 * path that allocates index arrays per element (~200 ns/element); the stock matmul computes strided
 * indices in its innermost loop. Measured on this project's 2-core machine, the two-tower training
 * step at batch 256 went from ~150 ms to a fraction of that.
 *
 * Semantics are unchanged: same ops, float32 results; anything these kernels do not cover (other
 * dtypes, fused activations other than linear/ReLU, PReLU weights) is delegated to the stock kernel.
 * Registration uses tfjs's public kernel registry (`registerKernel`) and is idempotent.
 */

type TensorInfo = { dataId: object; shape: number[]; dtype: string };
type CpuBackend = {
  data: { get(id: object): { values: unknown } };
  makeTensorInfo(shape: number[], dtype: string, values: Float32Array | Uint8Array): TensorInfo;
};
type KernelArgs = {
  inputs: Record<string, TensorInfo | undefined>;
  backend: CpuBackend;
  attrs?: Record<string, unknown>;
};
type KernelFunc = (args: KernelArgs) => TensorInfo | TensorInfo[];

const BINARY_OPS = [
  'Add',
  'Sub',
  'Multiply',
  'RealDiv',
  'Maximum',
  'GreaterEqual',
  'Greater',
  'Less',
] as const;
/** Comparisons produce `bool` tensors (Uint8Array values), the others float32. */
const COMPARISONS: ReadonlySet<string> = new Set(['GreaterEqual', 'Greater', 'Less']);
type BinaryOp = (typeof BINARY_OPS)[number];

let installed = false;

/** Registers the fast kernels for the 'cpu' backend (once per process). */
export function installFastCpuKernels(): void {
  if (installed) return;
  installed = true;
  for (const op of BINARY_OPS) replace(op, (original) => (args) => fastBinary(op, args) ?? original(args));
  replace('BatchMatMul', (original) => (args) => fastMatMul(args, false) ?? original(args));
  replace('_FusedMatMul', (original) => (args) => fastMatMul(args, true) ?? original(args));
}

function replace(kernelName: string, wrap: (original: KernelFunc) => KernelFunc): void {
  const stock = tf.getKernel(kernelName, 'cpu');
  if (!stock) return; // unknown tfjs version: keep whatever is registered
  const original = stock.kernelFunc as unknown as KernelFunc;
  tf.unregisterKernel(kernelName, 'cpu');
  tf.registerKernel({ ...stock, kernelFunc: wrap(original) as unknown as tf.KernelFunc });
}

/** Values of a float32 tensor (the CPU backend keeps casts from bool as Uint8Array). */
function float32Values(backend: CpuBackend, t: TensorInfo): Float32Array | Uint8Array | undefined {
  if (t.dtype !== 'float32') return undefined;
  const v = backend.data.get(t.dataId).values;
  return v instanceof Float32Array || v instanceof Uint8Array ? v : undefined;
}

/** Broadcast strides of `shape` against `out` (0 on broadcast dimensions). */
function broadcastStrides(shape: number[], out: number[]): number[] {
  const r = out.length;
  const strides = new Array<number>(r).fill(0);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    const od = d + r - shape.length;
    strides[od] = shape[d] === 1 ? 0 : s;
    s *= shape[d];
  }
  return strides;
}

function fastBinary(op: BinaryOp, { inputs, backend }: KernelArgs): TensorInfo | undefined {
  const a = inputs.a;
  const b = inputs.b;
  if (!a || !b) return undefined;
  const av = float32Values(backend, a);
  const bv = float32Values(backend, b);
  if (!av || !bv) return undefined;
  const shape = tf.backend_util.assertAndGetBroadcastShape(a.shape, b.shape);
  const size = shape.reduce((x, y) => x * y, 1);
  const dtype = COMPARISONS.has(op) ? 'bool' : 'float32';
  const out = dtype === 'bool' ? new Uint8Array(size) : new Float32Array(size);
  if (size === 0) return backend.makeTensorInfo(shape, dtype, out);
  const r = shape.length;
  if (r === 0) {
    out[0] = apply(op, av[0], bv[0]);
    return backend.makeTensorInfo(shape, dtype, out);
  }
  const as = broadcastStrides(a.shape, shape);
  const bs = broadcastStrides(b.shape, shape);
  const inner = shape[r - 1];
  const ai = as[r - 1];
  const bi = bs[r - 1];
  const idx = new Array<number>(r).fill(0);
  let aBase = 0;
  let bBase = 0;
  for (let o = 0; o < size; o += inner) {
    let x = aBase;
    let y = bBase;
    switch (op) {
      case 'Add':
        for (let j = 0; j < inner; j++, x += ai, y += bi) out[o + j] = av[x] + bv[y];
        break;
      case 'Sub':
        for (let j = 0; j < inner; j++, x += ai, y += bi) out[o + j] = av[x] - bv[y];
        break;
      case 'Multiply':
        for (let j = 0; j < inner; j++, x += ai, y += bi) out[o + j] = av[x] * bv[y];
        break;
      case 'RealDiv':
        for (let j = 0; j < inner; j++, x += ai, y += bi) out[o + j] = av[x] / bv[y];
        break;
      case 'Maximum':
        for (let j = 0; j < inner; j++, x += ai, y += bi) out[o + j] = Math.max(av[x], bv[y]);
        break;
      case 'GreaterEqual':
        for (let j = 0; j < inner; j++, x += ai, y += bi) out[o + j] = av[x] >= bv[y] ? 1 : 0;
        break;
      case 'Greater':
        for (let j = 0; j < inner; j++, x += ai, y += bi) out[o + j] = av[x] > bv[y] ? 1 : 0;
        break;
      case 'Less':
        for (let j = 0; j < inner; j++, x += ai, y += bi) out[o + j] = av[x] < bv[y] ? 1 : 0;
        break;
    }
    for (let d = r - 2; d >= 0; d--) {
      idx[d]++;
      aBase += as[d];
      bBase += bs[d];
      if (idx[d] < shape[d]) break;
      aBase -= as[d] * shape[d];
      bBase -= bs[d] * shape[d];
      idx[d] = 0;
    }
  }
  return backend.makeTensorInfo(shape, dtype, out);
}

function apply(op: BinaryOp, x: number, y: number): number {
  switch (op) {
    case 'Add':
      return x + y;
    case 'Sub':
      return x - y;
    case 'Multiply':
      return x * y;
    case 'RealDiv':
      return x / y;
    case 'Maximum':
      return Math.max(x, y); // NaN if either is NaN, as tfjs's Maximum
    case 'GreaterEqual':
      return x >= y ? 1 : 0;
    case 'Greater':
      return x > y ? 1 : 0;
    case 'Less':
      return x < y ? 1 : 0;
  }
}

/**
 * Matrix product over rank ≥ 2 float32 tensors with broadcast batch dimensions of size 1 or equal;
 * for `_FusedMatMul` also the bias add and a linear or ReLU activation.
 */
function fastMatMul({ inputs, backend, attrs }: KernelArgs, fused: boolean): TensorInfo | undefined {
  const a = inputs.a;
  const b = inputs.b;
  if (!a || !b || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const transposeA = Boolean(attrs?.transposeA);
  const transposeB = Boolean(attrs?.transposeB);
  const activation = fused ? ((attrs?.activation as string | undefined) ?? 'linear') : 'linear';
  if (fused && (inputs.preluActivationWeights || (activation !== 'linear' && activation !== 'relu')))
    return undefined;
  const av = float32Values(backend, a);
  const bv = float32Values(backend, b);
  if (!av || !bv) return undefined;
  const bias = fused ? inputs.bias : undefined;
  const biasV = bias ? float32Values(backend, bias) : undefined;
  if (bias && !biasV) return undefined;
  if (
    biasV &&
    biasV.length !== 1 &&
    biasV.length !== (transposeB ? b.shape[b.shape.length - 2] : b.shape[b.shape.length - 1])
  ) {
    return undefined;
  }

  const ra = a.shape.length;
  const rb = b.shape.length;
  const m = transposeA ? a.shape[ra - 1] : a.shape[ra - 2];
  const k = transposeA ? a.shape[ra - 2] : a.shape[ra - 1];
  const kb = transposeB ? b.shape[rb - 1] : b.shape[rb - 2];
  const n = transposeB ? b.shape[rb - 2] : b.shape[rb - 1];
  if (k !== kb) return undefined; // let the stock kernel raise its error
  const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  const batch = Math.max(batchA, batchB);
  const outerDims = (batchA >= batchB ? a.shape : b.shape).slice(0, -2);
  const outShape = [...outerDims, m, n];
  const out = new Float32Array(batch * m * n);
  const rowA = new Float32Array(k);

  for (let bi = 0; bi < batch; bi++) {
    const aOff = (batchA === 1 ? 0 : bi) * m * k;
    const bOff = (batchB === 1 ? 0 : bi) * k * n;
    const oOff = bi * m * n;
    for (let i = 0; i < m; i++) {
      // Row i of op(A), made contiguous.
      if (transposeA) for (let q = 0; q < k; q++) rowA[q] = av[aOff + q * m + i];
      else for (let q = 0; q < k; q++) rowA[q] = av[aOff + i * k + q];
      const o = oOff + i * n;
      if (transposeB) {
        // B is [n, k]: dot products of contiguous rows.
        for (let j = 0; j < n; j++) {
          let s = 0;
          const bj = bOff + j * k;
          for (let q = 0; q < k; q++) s += rowA[q] * bv[bj + q];
          out[o + j] = s;
        }
      } else {
        // B is [k, n]: accumulate scaled rows of B (contiguous inner loop).
        for (let q = 0; q < k; q++) {
          const x = rowA[q];
          if (x === 0) continue;
          const bq = bOff + q * n;
          for (let j = 0; j < n; j++) out[o + j] += x * bv[bq + j];
        }
      }
    }
  }
  if (biasV) {
    const bl = biasV.length;
    for (let i = 0; i < out.length; i += n) for (let j = 0; j < n; j++) out[i + j] += biasV[bl === 1 ? 0 : j];
  }
  if (activation === 'relu') for (let i = 0; i < out.length; i++) if (out[i] < 0) out[i] = 0;
  return backend.makeTensorInfo(outShape, 'float32', out);
}
