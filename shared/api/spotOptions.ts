import type { Config } from '../config.js';
import type { InstanceAction } from '../lifecycle/job.js';
import type { FieldReader } from './fields.js';
import { INSTANCE_TYPE, knownInstanceType, mapInstanceType } from './instanceTypes.js';

const MAX_SECONDS = 28 * 24 * 3600;

export interface SpotOptions {
  behavior?: InstanceAction;
  fallbackTypes?: string[];
  onDemandAfter?: number;
}

/** `SpotOptions`, spot-training's addition to CreateTrainingJob (SageMaker has no such member). */
export function readSpotOptions(r: FieldReader, value: unknown, config: Config): SpotOptions | undefined {
  const spotOptions = r.object(value, 'spotOptions', false);
  if (!spotOptions) return undefined;
  r.onlyKnown(spotOptions, 'SpotOptions', ['InterruptionBehavior', 'FallbackInstanceTypes', 'OnDemandFallbackAfterSeconds']);
  const behavior = r.string(spotOptions, 'InterruptionBehavior', 'spotOptions.interruptionBehavior', { max: 16, oneOf: ['terminate', 'stop', 'hibernate'] });
  const fallbackTypes = r.list(spotOptions, 'FallbackInstanceTypes', 'spotOptions.fallbackInstanceTypes', { max: 10 }, (item, path) => {
    if (typeof item !== 'string' || !INSTANCE_TYPE.test(item) || item.length > 64) {
      r.problem(path, item, `satisfy regular expression pattern: ${INSTANCE_TYPE.source}`);
      return undefined;
    }
    knownInstanceType(r, item, path, config);
    return mapInstanceType(item);
  });
  const onDemandAfter = r.integer(spotOptions, 'OnDemandFallbackAfterSeconds', 'spotOptions.onDemandFallbackAfterSeconds', { min: 0, max: MAX_SECONDS });
  return {
    ...(behavior ? { behavior: behavior as InstanceAction } : {}),
    ...(fallbackTypes ? { fallbackTypes } : {}),
    ...(onDemandAfter !== undefined ? { onDemandAfter } : {}),
  };
}
