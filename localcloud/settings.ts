import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** The simulated world of the local cloud (localcloud.config.json), validated at start. */
const instanceType = z.object({
  launchDelaySeconds: z.number().min(0),
  spotCapacity: z.boolean(),
  spotPrice: z.number().min(0),
  onDemandPrice: z.number().positive(),
  downloadSeconds: z.number().min(0),
  trainingSeconds: z.number().positive(),
  uploadSeconds: z.number().min(0),
  checkpointEverySeconds: z.number().positive(),
  /** Simulated seconds after running when the simulator interrupts each spot instance by itself. */
  interruptAfterSeconds: z.number().positive().optional(),
  interruptionAction: z.enum(['terminate', 'stop', 'hibernate']).optional(),
});

export const localCloudSettings = z.object({
  timeScale: z.number().positive().default(1),
  sweepIntervalSeconds: z.number().positive().default(1),
  instanceTypes: z.record(z.string(), instanceType),
});

export type LocalCloudSettings = z.infer<typeof localCloudSettings>;
export type SimulatedTypeSettings = z.infer<typeof instanceType>;

export function readSettings(file: string): LocalCloudSettings {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  delete raw.$comment;
  const parsed = localCloudSettings.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`${file}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  return parsed.data;
}
