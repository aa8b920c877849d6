import type { Config } from '../config.js';
import type { InputChannel, S3DataDistribution, S3DataType } from '../lifecycle/jobSpec.js';
import type { FieldReader } from './fields.js';
import { refuse, REFUSED_INPUT_MODE } from './refusals.js';
import { readableChannelUri } from './s3Locations.js';

type Obj = Record<string, unknown>;

/**
 * `InputDataConfig`, already checked against SageMaker's model: the channels the agent
 * downloads before training (File mode), from S3 in the allowed buckets. What cannot be
 * honoured here (file systems, hub data sets, augmented manifests, Pipe and FastFile modes,
 * heterogeneous clusters) is refused, naming the field and the reason.
 */
export function readInputDataConfig(reader: FieldReader, value: unknown, jobInputMode: string, config: Config): InputChannel[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const names = new Set<string>();
  const channels: InputChannel[] = [];
  value.forEach((raw: Obj, i) => {
    const at = `InputDataConfig[${i}]`;
    const name = raw.ChannelName as string;
    if (names.has(name)) reader.invalid(`${at}.ChannelName '${name}' is used by another channel; channel names must be unique`);
    names.add(name);
    const channel = readChannel(reader, raw, at, `inputDataConfig.${i + 1}.member`, jobInputMode, config);
    if (channel) channels.push(channel);
  });
  return channels;
}

function readChannel(reader: FieldReader, raw: Obj, at: string, path: string, jobInputMode: string, config: Config): InputChannel | undefined {
  const source = (raw.DataSource ?? {}) as Obj;
  if (source.FileSystemDataSource !== undefined) {
    refuse(reader, `${at}.DataSource.FileSystemDataSource`, 'EFS and FSx for Lustre file systems are not mounted on the instances here; use an S3DataSource');
  }
  if (source.DatasetSource !== undefined) {
    refuse(reader, `${at}.DataSource.DatasetSource`, "SageMaker hub data sets live in SageMaker's own hub; use an S3DataSource");
  }
  const s3 = source.S3DataSource as Obj | undefined;
  if (!s3) {
    if (source.FileSystemDataSource === undefined && source.DatasetSource === undefined) {
      reader.invalid(`${at}.DataSource must have an S3DataSource`);
    }
    return undefined;
  }
  const mode = (raw.InputMode as string | undefined) ?? jobInputMode;
  if (raw.InputMode !== undefined && raw.InputMode !== 'File') refuse(reader, `${at}.InputMode`, REFUSED_INPUT_MODE(raw.InputMode as string));
  const type = s3.S3DataType as string;
  if (type !== 'S3Prefix' && type !== 'ManifestFile') {
    refuse(reader, `${at}.DataSource.S3DataSource.S3DataType`, `${type} is not supported here; S3Prefix and ManifestFile are`);
  }
  if (s3.AttributeNames !== undefined) refuse(reader, `${at}.DataSource.S3DataSource.AttributeNames`, 'it selects attributes of an AugmentedManifestFile, which is not supported here');
  if (s3.InstanceGroupNames !== undefined) refuse(reader, `${at}.DataSource.S3DataSource.InstanceGroupNames`, 'heterogeneous clusters (ResourceConfig.InstanceGroups) are not supported here');
  if (s3.HubAccessConfig !== undefined) refuse(reader, `${at}.DataSource.S3DataSource.HubAccessConfig`, "it reads SageMaker hub content, which lives in SageMaker's own hub");
  const uri = readableChannelUri(reader, s3.S3Uri as string, `${at}.DataSource.S3DataSource.S3Uri`, `${path}.dataSource.s3DataSource.s3Uri`, type !== 'ManifestFile', config);
  if (uri === undefined || mode !== 'File' || (type !== 'S3Prefix' && type !== 'ManifestFile')) return undefined;
  const accept = s3.ModelAccessConfig as { AcceptEula: boolean } | undefined;
  return {
    ChannelName: raw.ChannelName as string,
    DataSource: {
      S3DataSource: {
        S3DataType: type as S3DataType,
        S3Uri: uri,
        S3DataDistributionType: ((s3.S3DataDistributionType as string | undefined) ?? 'FullyReplicated') as S3DataDistribution,
        ...(accept ? { ModelAccessConfig: { AcceptEula: accept.AcceptEula } } : {}),
      },
    },
    ...(raw.ContentType !== undefined ? { ContentType: raw.ContentType as string } : {}),
    ...(raw.CompressionType !== undefined ? { CompressionType: raw.CompressionType as 'None' | 'Gzip' } : {}),
    ...(raw.RecordWrapperType !== undefined ? { RecordWrapperType: raw.RecordWrapperType as 'None' | 'RecordIO' } : {}),
    InputMode: 'File',
    ...(raw.ShuffleConfig !== undefined ? { ShuffleConfig: { Seed: (raw.ShuffleConfig as { Seed: number }).Seed } } : {}),
  };
}
