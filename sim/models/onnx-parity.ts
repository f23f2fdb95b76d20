import * as ort from 'onnxruntime-node';

/**
 * Largest difference between ONNX Runtime's outputs and reference outputs, per output name, over
 * the given rows. The difference is absolute for values up to 1 and relative above
 * (`|a − b| / max(1, |b|)`), since float32 carries ~7 significant digits: an absolute 1e-4 on a
 * watch time of 2000 s would be below one ulp.
 *
 * @param modelBytes serialized ONNX model
 * @param inputName the model's single input
 * @param x `Float32Array(rows × width)`
 * @param expected reference values per output name, each `Float32Array(rows × outputWidth)`
 * @returns max difference per output name; `shapes` holds each output's dims as ONNX Runtime returned them
 */
export async function onnxParity(
  modelBytes: Uint8Array,
  inputName: string,
  x: Float32Array,
  width: number,
  expected: Record<string, Float32Array>,
): Promise<{ maxDiff: Record<string, number>; shapes: Record<string, readonly number[]> }> {
  const session = await ort.InferenceSession.create(modelBytes, { intraOpNumThreads: 1 });
  try {
    const rows = x.length / width;
    const result = await session.run({ [inputName]: new ort.Tensor('float32', x, [rows, width]) });
    const maxDiff: Record<string, number> = {};
    const shapes: Record<string, readonly number[]> = {};
    for (const [name, want] of Object.entries(expected)) {
      const out = result[name];
      if (!out) throw new Error(`onnxParity: output ${name} missing`);
      shapes[name] = out.dims;
      const got = out.data as Float32Array;
      if (got.length !== want.length) {
        maxDiff[name] = Number.POSITIVE_INFINITY;
        continue;
      }
      let worst = 0;
      for (let i = 0; i < got.length; i++) {
        const d = Math.abs(got[i] - want[i]) / Math.max(1, Math.abs(want[i]));
        if (Number.isNaN(d)) {
          worst = Number.POSITIVE_INFINITY;
          break;
        }
        if (d > worst) worst = d;
      }
      maxDiff[name] = worst;
    }
    return { maxDiff, shapes };
  } finally {
    await session.release();
  }
}
