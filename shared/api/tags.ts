import type { Config } from '../config.js';
import { ApiError, validationError } from '../errors.js';
import { nextDeadline } from '../lifecycle/deadlines.js';
import { tagsOf, type JobRecord, type Tag } from '../lifecycle/job.js';
import { StaleRecordError, JobNotFoundError, type JobStore } from '../store/jobStore.js';
import { FieldReader } from './fields.js';
import { checkAgainstModel } from './model/validate.js';

/** SageMaker's limit of tags on one resource. */
const MAX_TAGS = 50;
/** A tag write that keeps losing to the job's own writes gives up after this many rounds. */
const MAX_ROUNDS = 10;

/**
 * AddTags, ListTags and DeleteTags on a training job's ARN, as SageMaker has them. A job's
 * tags start as CreateTrainingJob's Tags; each change is one conditional write of the record,
 * done again on the record that won if the job moved meanwhile.
 */
export function createTagOperations(store: JobStore, config: Config) {
  const arnPrefix = `arn:aws:sagemaker:${config.region}:${config.accountId}:training-job/`;

  function read(shape: string, input: unknown): Record<string, unknown> {
    const r = new FieldReader();
    const body = r.object(input, 'request body', true);
    if (body) checkAgainstModel(r, shape, body);
    r.throwIfInvalid();
    return body as Record<string, unknown>;
  }

  async function jobOf(arn: string): Promise<JobRecord> {
    const name = arn.startsWith(arnPrefix) ? arn.slice(arnPrefix.length) : undefined;
    const job = name ? await store.get(name) : undefined;
    // Only training jobs live here; any other ARN names nothing this API has.
    if (!job || job.TrainingJobArn !== arn.toLowerCase()) throw new ApiError('ResourceNotFound', `Resource ${arn} was not found.`);
    return job;
  }

  async function change(arn: string, edit: (tags: Tag[]) => Tag[]): Promise<Tag[]> {
    let job = await jobOf(arn);
    for (let round = 0; round < MAX_ROUNDS; round++) {
      const tags = edit(tagsOf(job));
      if (tags.length > MAX_TAGS) throw validationError(`The training job ${job.TrainingJobName} would have ${tags.length} tags; a resource can have at most ${MAX_TAGS}.`);
      const after: JobRecord = { ...job, Tags: tags, Version: job.Version + 1 };
      try {
        await store.write(job, { job: after, guardStatuses: [job.SecondaryStatus], dueAt: nextDeadline(job) });
        return tags;
      } catch (error) {
        if (error instanceof JobNotFoundError) throw new ApiError('ResourceNotFound', `Resource ${arn} was not found.`);
        if (!(error instanceof StaleRecordError)) throw error;
        job = error.current;
      }
    }
    throw new ApiError('ResourceInUse', `The training job ${job.TrainingJobName} is changing too often to tag; try again.`);
  }

  return {
    async AddTags(input: unknown) {
      const body = read('AddTagsInput', input);
      const added = (body.Tags as Tag[]).map((t) => ({ Key: t.Key, Value: t.Value }));
      await change(body.ResourceArn as string, (tags) => [...tags.filter((t) => !added.some((a) => a.Key === t.Key)), ...added]);
      return { Tags: added };
    },
    async DeleteTags(input: unknown) {
      const body = read('DeleteTagsInput', input);
      const keys = body.TagKeys as string[];
      await change(body.ResourceArn as string, (tags) => tags.filter((t) => !keys.includes(t.Key)));
      return {};
    },
    async ListTags(input: unknown) {
      const body = read('ListTagsInput', input);
      const tags = tagsOf(await jobOf(body.ResourceArn as string));
      // At most 50 tags and MaxResults at least 50: one page always holds them all.
      if (body.NextToken !== undefined && body.NextToken !== '') throw validationError('Invalid NextToken: every tag fits on the first page.');
      return { Tags: tags };
    },
  };
}
