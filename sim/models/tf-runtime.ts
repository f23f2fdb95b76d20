import * as tf from '@tensorflow/tfjs';
import { installFastCpuKernels } from './tf-cpu-kernels.ts';

/**
 * The one place the lab imports TensorFlow.js. tfjs-node is not available here, so training runs on
 * the pure-JS CPU backend; `PROD` mode silences its "install tfjs-node" banner (no console spam) and
 * skips debug checks. `installFastCpuKernels` swaps in faster float32 kernels (see that file).
 */
tf.env().set('PROD', true);
installFastCpuKernels();

export { tf };

/** Yields to the event loop so progress bars and timers run during long synchronous training. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** A dense layer's weights as plain arrays: `kernel` is `inDim × outDim` row-major, `bias` is `outDim`. */
export interface DenseWeights {
  readonly inDim: number;
  readonly outDim: number;
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
  /** Activation applied after the affine map, as tfjs names it ('relu', 'linear', …). */
  readonly activation: string;
}

/** Reads the dense layers of a `tf.Sequential` in order (throws `TypeError` for any other layer type). */
export function denseWeights(model: tf.Sequential): DenseWeights[] {
  return model.layers.map((layer) => {
    if (layer.getClassName() !== 'Dense')
      throw new TypeError(`denseWeights: unsupported layer ${layer.getClassName()}`);
    const [k, b] = layer.getWeights();
    const [inDim, outDim] = k.shape as [number, number];
    const cfg = layer.getConfig() as { activation?: string };
    return {
      inDim,
      outDim,
      kernel: k.dataSync() as Float32Array,
      bias: b.dataSync() as Float32Array,
      activation: cfg.activation ?? 'linear',
    };
  });
}

/** A dense layer with a seeded Glorot-uniform kernel (tfjs initialisers take their own seed). */
export function seededDense(
  units: number,
  seed: number,
  activation: 'relu' | 'linear',
  inputDim?: number,
): tf.layers.Layer {
  return tf.layers.dense({
    units,
    activation,
    ...(inputDim === undefined ? {} : { inputShape: [inputDim] }),
    kernelInitializer: tf.initializers.glorotUniform({ seed }),
    biasInitializer: 'zeros',
  });
}
