/**
 * Errors thrown by the lab's simulation code (world, behavior, models, loader).
 *
 * Codes follow the project's `RECLAB_ERR_<AREA>_<CONDITION>` scheme (STYLE.md); callers match on
 * `code`, never on the message. When the central error table (`core/errors.ts`) exists, these codes
 * belong in it too.
 */
export const SIM_ERROR_CODES = {
  /** A world configuration is not usable (non-positive sizes, non-integer counts, …). */
  RECLAB_ERR_WORLD_CONFIG_INVALID: 'world configuration is invalid',
  /** An index or id does not name an entity of the world. */
  RECLAB_ERR_WORLD_ID_INVALID: 'id does not name an entity of the world',
  /** Arguments to the behavior model are not usable (empty list, unknown video, …). */
  RECLAB_ERR_BEHAVIOR_INPUT_INVALID: 'behavior model input is invalid',
  /** Options for log simulation or artifact building are not usable. */
  RECLAB_ERR_ARTIFACTS_OPTIONS_INVALID: 'artifact build options are invalid',
  /** The logs hold too little signal to train on (no clicks in a period). */
  RECLAB_ERR_ARTIFACTS_DATA_INSUFFICIENT: 'logs hold too little data to train',
  /** ONNX Runtime outputs differ from the tfjs model beyond the tolerance. */
  RECLAB_ERR_ARTIFACTS_PARITY: 'ONNX and tfjs outputs differ',
  /** Arrays handed to the Redis loader do not match the world. */
  RECLAB_ERR_LOADER_INPUT_INVALID: 'loader input does not match the world',
  /** A simulated run read wall time or an unseeded random (sim/engine/no-wall-clock.ts). */
  RECLAB_ERR_SIM_NONDETERMINISM: 'a simulated run read wall time or an unseeded random',
  /** A fleet file is not valid (sim/fleet/fleet-spec.ts); every problem is listed. */
  RECLAB_ERR_SIM_FLEET_INVALID: 'fleet file is invalid',
} as const;

export type SimErrorCode = keyof typeof SIM_ERROR_CODES;

/** An error with a stable `code` from `SIM_ERROR_CODES`. */
export class SimError extends Error {
  readonly code: SimErrorCode;

  constructor(code: SimErrorCode, detail: string) {
    super(`${code}: ${SIM_ERROR_CODES[code]}: ${detail}`);
    this.name = 'SimError';
    this.code = code;
  }
}
