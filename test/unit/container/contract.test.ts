import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { dockerRunArgs, shmSizeFor } from '../../../agent/container/dockerCommand.js';
import { ecrRegistryOf, pullImage, type Run } from '../../../agent/container/ecrLogin.js';
import { countGpus } from '../../../agent/container/hardware.js';
import { hostAddresses } from '../../../agent/container/hosts.js';
import { decodeHyperparameter, environmentValue, pythonDumps, pythonFloat, pythonLoads } from '../../../agent/container/pythonJson.js';
import { trainingCommand, workspaceOf } from '../../../agent/container/runner.js';
import { trainingContract } from '../../../agent/container/toolkitEnvironment.js';
import type { RestoreInstruction } from '../../../shared/protocol.js';

/**
 * The training-container contract against what SageMaker and its training toolkit give a
 * container: the files of /opt/ml/input/config, the SM_* environment (values formatted by
 * Python's json, checked against the machine's Python), the docker run SageMaker does.
 */
const instruction = (over: Partial<RestoreInstruction> = {}): RestoreInstruction => ({
  TrainingJobName: 'fit-2026-12-02',
  Attempt: 2,
  CheckpointS3Uri: 's3://spot-training-data/checkpoints/fit/',
  CheckpointLocalPath: '/opt/ml/checkpoints',
  OutputS3Uri: 's3://spot-training-data/output/',
  TrainingImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/train:latest',
  Command: [],
  Environment: { MY_SETTING: 'x', SM_HOSTS: 'not-the-users' },
  HyperParameters: { epochs: '10', 'learning-rate': '0.00001', optimizer: '"adam"', layers: '[64, 32]', plain: 'adam', big: '12345678901234567890', sagemaker_program: '"train.py"' },
  InstanceIds: ['i-0000000000000000a', 'i-0000000000000000b'],
  TrainingJobArn: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/fit-2026-12-02',
  AlgorithmSpecification: { TrainingImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/train:latest', TrainingInputMode: 'File' },
  ResourceConfig: { InstanceType: 'ml.g5.xlarge', InstanceCount: 2, VolumeSizeInGB: 30 },
  InputDataConfig: [
    { ChannelName: 'training', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://spot-training-data/data/train/', S3DataDistributionType: 'ShardedByS3Key' } }, ContentType: 'text/csv', InputMode: 'File' },
    { ChannelName: 'validation', DataSource: { S3DataSource: { S3DataType: 'S3Prefix', S3Uri: 's3://spot-training-data/data/val/', S3DataDistributionType: 'FullyReplicated' } }, InputMode: 'File' },
  ],
  ...over,
});

/** What Python prints for a hyperparameter the way the toolkit does: json.loads when it parses, then its format_value. */
function pythonFormat(values: string[]): string[] {
  const script = [
    'import json, sys',
    'def fmt(v):',
    '    try: v = json.loads(v)',
    '    except (ValueError, TypeError): pass',
    '    if v is None: return ""',
    '    return v if isinstance(v, str) else json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=True)',
    'print(json.dumps([fmt(v) for v in json.load(sys.stdin)]))',
  ].join('\n');
  return JSON.parse(execFileSync('python3', ['-c', script], { input: JSON.stringify(values) }).toString()) as string[];
}

describe("hyperparameters as the toolkit formats them (Python's json)", () => {
  const samples = [
    '10', '10.0', '-0', '0.1', '1e-05', '0.00001', '1.5e-7', '1e16', '1e15', '123456789.125', '12345678901234567890', '-2.5E+3',
    'true', 'false', 'null', '"adam"', 'adam', '[64, 32]', '{"b": 1, "a": [1.0, "é"]}', '"naïve ☃"', 'NaN', '-Infinity', '{"a": 1, "a": 2}', 'not json {', '', ' 7 ',
  ];
  it('prints every sample exactly as Python does', () => {
    expect(samples.map((s) => environmentValue(decodeHyperparameter(s)))).toEqual(pythonFormat(samples));
  });
  it("gives command-line arguments as the toolkit's to_cmd_args, checked against Python", () => {
    const hyperparameters = { epochs: '10', b: 'true', lr: '1e-05', layers: '[64, "x", null, 1.0]', cfg: '{"z": [1, 2], "a": "s", "n": null}', s: "it's", none: 'null' };
    const script = [
      'import json, sys',
      'def dec(v):',
      '    try: return json.loads(v)',
      '    except (ValueError, TypeError): return v',
      'def val(v):',
      '    if v is None: return ""',
      '    if hasattr(v, "items"): return ",".join("%s=%s" % (k, x) for k, x in sorted(v.items()))',
      '    return str(v)',
      'hps = {k: dec(v) for k, v in json.load(sys.stdin).items()}',
      'out = []',
      'for k in sorted(hps): out += ["--%s" % k if len(k) > 1 else "-%s" % k, val(hps[k])]',
      'print(json.dumps(out, sort_keys=True, separators=(",", ":"), ensure_ascii=True))',
    ].join('\n');
    const expected = execFileSync('python3', ['-c', script], { input: JSON.stringify(hyperparameters) }).toString().trim();
    const { environment } = trainingContract({ instruction: instruction({ HyperParameters: hyperparameters }), hostIndex: 0, mlRoot: '/opt/ml', cpus: 1, gpus: 0, region: 'us-east-1' });
    expect(environment.SM_USER_ARGS).toBe(expected);
  });
  it("writes floats in Python's repr", () => {
    expect([1e-5, 0.0001, 1e16, 1e15, 2.5, 100, 1 / 3, -0].map(pythonFloat)).toEqual(['1e-05', '0.0001', '1e+16', '1000000000000000.0', '2.5', '100.0', '0.3333333333333333', '-0.0']);
  });
  it('refuses what is not JSON and keeps integers of any size', () => {
    expect(() => pythonLoads('{"a": }')).toThrow(SyntaxError);
    expect(pythonDumps(pythonLoads('[12345678901234567890123]'))).toBe('[12345678901234567890123]');
  });
});

describe('the files of /opt/ml/input/config', () => {
  const contract = trainingContract({ instruction: instruction(), hostIndex: 1, mlRoot: '/opt/ml', checkpointDir: '/opt/ml/checkpoints', cpus: 4, gpus: 1, region: 'us-east-1' });
  const file = (name: string) => JSON.parse(contract.configFiles[name] as string) as Record<string, unknown>;

  it('hyperparameters.json holds the request’s strings as submitted', () => {
    expect(file('hyperparameters.json')).toEqual(instruction().HyperParameters);
  });
  it('resourceconfig.json names this host among algo-1…algo-N', () => {
    expect(file('resourceconfig.json')).toEqual({
      current_host: 'algo-2',
      current_instance_type: 'ml.g5.xlarge',
      current_group_name: 'homogeneousCluster',
      hosts: ['algo-1', 'algo-2'],
      instance_groups: [{ instance_group_name: 'homogeneousCluster', instance_type: 'ml.g5.xlarge', hosts: ['algo-1', 'algo-2'] }],
      network_interface_name: 'eth0',
    });
  });
  it('inputdataconfig.json describes each channel as SageMaker does', () => {
    expect(file('inputdataconfig.json')).toEqual({
      training: { ContentType: 'text/csv', TrainingInputMode: 'File', S3DistributionType: 'ShardedByS3Key', RecordWrapperType: 'None' },
      validation: { TrainingInputMode: 'File', S3DistributionType: 'FullyReplicated', RecordWrapperType: 'None' },
    });
  });
  it('checkpointconfig.json gives the local path and the S3 URI, only for a job with CheckpointConfig', () => {
    expect(file('checkpointconfig.json')).toEqual({ LocalPath: '/opt/ml/checkpoints', S3Uri: 's3://spot-training-data/checkpoints/fit/' });
    const without = trainingContract({ instruction: instruction({ CheckpointS3Uri: undefined }), hostIndex: 0, mlRoot: '/opt/ml', cpus: 1, gpus: 0, region: 'us-east-1' });
    expect(Object.keys(without.configFiles).sort()).toEqual(['hyperparameters.json', 'inputdataconfig.json', 'resourceconfig.json']);
  });
});

describe('the environment of the training command', () => {
  const { environment: env } = trainingContract({ instruction: instruction(), hostIndex: 1, mlRoot: '/opt/ml', checkpointDir: '/opt/ml/checkpoints', cpus: 4, gpus: 1, region: 'us-east-1' });

  it("has the toolkit's variables, named and typed as it writes them", () => {
    expect(env).toMatchObject({
      SM_HOSTS: '["algo-1","algo-2"]',
      SM_CURRENT_HOST: 'algo-2',
      SM_CURRENT_INSTANCE_TYPE: 'ml.g5.xlarge',
      SM_CHANNELS: '["training","validation"]',
      SM_CHANNEL_TRAINING: '/opt/ml/input/data/training',
      SM_CHANNEL_VALIDATION: '/opt/ml/input/data/validation',
      SM_MODEL_DIR: '/opt/ml/model',
      SM_OUTPUT_DATA_DIR: '/opt/ml/output/data',
      SM_OUTPUT_DIR: '/opt/ml/output',
      SM_OUTPUT_INTERMEDIATE_DIR: '/opt/ml/output/intermediate',
      SM_INPUT_DIR: '/opt/ml/input',
      SM_INPUT_CONFIG_DIR: '/opt/ml/input/config',
      SM_NUM_CPUS: '4',
      SM_NUM_GPUS: '1',
      SM_NUM_NEURONS: '0',
      SM_NETWORK_INTERFACE_NAME: 'eth0',
      SM_LOG_LEVEL: '20',
      SM_IS_HETERO: 'false',
      SM_USER_ENTRY_POINT: 'train.py',
      SM_MODULE_DIR: '/opt/ml/code',
      SM_FRAMEWORK_PARAMS: '{"sagemaker_program":"train.py"}',
      SM_HP_EPOCHS: '10',
      'SM_HP_LEARNING-RATE': '1e-05',
      SM_HP_OPTIMIZER: 'adam',
      SM_HP_LAYERS: '[64,32]',
      SM_HP_BIG: '12345678901234567890',
      TRAINING_JOB_NAME: 'fit-2026-12-02',
      TRAINING_JOB_ARN: 'arn:aws:sagemaker:us-east-1:123456789012:training-job/fit-2026-12-02',
      MY_SETTING: 'x',
    });
    // The framework's own hyperparameters are not the script's.
    expect(env.SM_HP_SAGEMAKER_PROGRAM).toBeUndefined();
    expect(JSON.parse(env.SM_HPS as string)).toEqual({ big: 12345678901234567890, epochs: 10, layers: [64, 32], 'learning-rate': 1e-5, optimizer: 'adam', plain: 'adam' });
    expect(env.SM_HPS).toBe('{"big":12345678901234567890,"epochs":10,"layers":[64,32],"learning-rate":1e-05,"optimizer":"adam","plain":"adam"}');
    expect(env.SM_USER_ARGS).toBe('["--big","12345678901234567890","--epochs","10","--layers","[64, 32]","--learning-rate","1e-05","--optimizer","adam","--plain","adam"]');
  });
  it('keeps SageMaker’s variables SageMaker’s: the job’s Environment cannot replace them', () => {
    expect(env.SM_HOSTS).toBe('["algo-1","algo-2"]');
  });
  it('gives SM_TRAINING_ENV and SM_RESOURCE_CONFIG / SM_INPUT_DATA_CONFIG as the JSON the toolkit builds', () => {
    const training = JSON.parse(env.SM_TRAINING_ENV as string) as Record<string, unknown>;
    expect(training).toMatchObject({ current_host: 'algo-2', hosts: ['algo-1', 'algo-2'], is_master: false, master_hostname: 'algo-1', job_name: 'fit-2026-12-02', num_gpus: 1 });
    expect(training.channel_input_dirs).toEqual({ training: '/opt/ml/input/data/training', validation: '/opt/ml/input/data/validation' });
    expect(JSON.parse(env.SM_RESOURCE_CONFIG as string)).toMatchObject({ current_host: 'algo-2' });
    expect(Object.keys(JSON.parse(env.SM_INPUT_DATA_CONFIG as string) as object)).toEqual(['training', 'validation']);
  });
});

describe('docker run, as SageMaker starts a training image', () => {
  const build = (over: Partial<RestoreInstruction>, gpus = 0) =>
    trainingCommand({ runtime: 'docker', instruction: instruction(over), instanceId: 'i-0000000000000000a', workspace: workspaceOf('/', instruction(over)), hardware: { cpus: 8, gpus }, region: 'us-east-1', baseEnv: { PATH: '/usr/bin' } });

  it('mounts /opt/ml, passes the environment by name and runs `train`', () => {
    const command = build({});
    expect(command.file).toBe('docker');
    expect(command.args.slice(0, 6)).toEqual(['run', '--rm', '--name', 'fit-2026-12-02-2', '-v', '/opt/ml:/opt/ml']);
    expect(command.args.slice(-2)).toEqual(['123456789012.dkr.ecr.us-east-1.amazonaws.com/train:latest', 'train']);
    expect(command.args).toContain('--network');
    expect(command.args[command.args.indexOf('--network') + 1]).toBe('host');
    expect(command.args).not.toContain('--gpus');
    // Values only in docker's environment, never on its command line.
    expect(command.args.join(' ')).not.toContain('arn:aws:sagemaker');
    expect(command.args).toContain('SM_CHANNEL_TRAINING');
    expect(command.args).toContain('MY_SETTING');
    expect(command.env.TRAINING_JOB_ARN).toBe('arn:aws:sagemaker:us-east-1:123456789012:training-job/fit-2026-12-02');
    expect(command.env.SM_CURRENT_HOST).toBe('algo-1');
  });
  it('adds every GPU, isolation, an entrypoint in place of the image’s, and a LocalPath outside /opt/ml', () => {
    const command = build(
      {
        EnableNetworkIsolation: true,
        CheckpointLocalPath: '/checkpoints',
        AlgorithmSpecification: { TrainingImage: 'python:3.11', TrainingInputMode: 'File', ContainerEntrypoint: ['python3', '-u', 'train.py'], ContainerArguments: ['--epochs', '3'] },
      },
      4,
    );
    const args = command.args;
    expect(args[args.indexOf('--gpus') + 1]).toBe('all');
    expect(args[args.indexOf('--network') + 1]).toBe('none');
    expect(args).toContain('/checkpoints:/checkpoints');
    expect(args[args.indexOf('--entrypoint') + 1]).toBe('python3');
    expect(args.slice(args.indexOf('python:3.11'))).toEqual(['python:3.11', '-u', 'train.py', '--epochs', '3']);
  });
  it('makes algo-1…algo-N resolvable at the private addresses of the attempt’s instances, in their order', async () => {
    const ec2 = {
      send: async () => ({
        Reservations: [{ Instances: [{ InstanceId: 'i-0000000000000000b', PrivateIpAddress: '10.0.1.7' }] }, { Instances: [{ InstanceId: 'i-0000000000000000a', PrivateIpAddress: '10.0.0.5' }] }],
      }),
    } as never;
    const hosts = await hostAddresses(ec2, ['i-0000000000000000a', 'i-0000000000000000b']);
    expect([...hosts]).toEqual([['algo-1', '10.0.0.5'], ['algo-2', '10.0.1.7']]);
    const inst = instruction();
    const command = trainingCommand({ runtime: 'docker', instruction: inst, instanceId: 'i-0000000000000000b', workspace: workspaceOf('/', inst), hardware: { cpus: 8, gpus: 0 }, region: 'us-east-1', baseEnv: {}, hosts });
    expect(command.args.join(' ')).toContain('--add-host algo-1:10.0.0.5 --add-host algo-2:10.0.1.7');
  });
  it('gives /dev/shm half the memory, at least 1 GiB', () => {
    expect(shmSizeFor(64 * 1024 ** 3)).toBe(32 * 1024 ** 3);
    expect(shmSizeFor(1024 ** 3)).toBe(1024 ** 3);
    expect(dockerRunArgs({ image: 'i', containerName: 'n', mlFolder: '/x', environmentNames: [], gpus: 0, shmBytes: 2048, networkIsolation: false })).toContain('--shm-size=2048b');
  });
  it('counts GPUs as nvidia-smi lists them, none without the driver', async () => {
    expect(await countGpus(async () => 'GPU 0: NVIDIA A10G (UUID: GPU-1)\nGPU 1: NVIDIA A10G (UUID: GPU-2)\n')).toBe(2);
    expect(await countGpus(async () => Promise.reject(new Error('ENOENT')))).toBe(0);
  });
});

describe('the process form, where there is no container engine', () => {
  it('runs ContainerEntrypoint with /opt/ml a folder of the instance', () => {
    const root = '/data/instances/i-1';
    const inst = instruction({ AlgorithmSpecification: { TrainingImage: 'python:3.11', TrainingInputMode: 'File', ContainerEntrypoint: ['python3', 'train.py'] } });
    const command = trainingCommand({ runtime: 'process', instruction: inst, instanceId: 'i-0000000000000000a', workspace: workspaceOf(root, inst), hardware: { cpus: 2, gpus: 0 }, region: 'us-east-1', baseEnv: { PATH: '/usr/bin' } });
    expect([command.file, ...command.args]).toEqual(['python3', 'train.py']);
    expect(command.env).toMatchObject({
      PATH: '/usr/bin',
      SAGEMAKER_BASE_DIR: `${root}/opt/ml`,
      SM_MODEL_DIR: `${root}/opt/ml/model`,
      SM_CHANNEL_TRAINING: `${root}/opt/ml/input/data/training`,
      SPOT_TRAINING_ATTEMPT: '2',
      SPOT_TRAINING_CHECKPOINT_DIR: `${root}/opt/ml/checkpoints`,
    });
  });
  it('refuses an image without an entrypoint, saying why', () => {
    const inst = instruction();
    expect(() => trainingCommand({ runtime: 'process', instruction: inst, instanceId: 'i-0000000000000000a', workspace: workspaceOf('/r', inst), hardware: { cpus: 1, gpus: 0 }, region: 'us-east-1', baseEnv: {} })).toThrow(
      /needs AlgorithmSpecification\.ContainerEntrypoint/,
    );
  });
});

describe('pulling from ECR', () => {
  it('knows an ECR image from any other', () => {
    expect(ecrRegistryOf('123456789012.dkr.ecr.eu-west-1.amazonaws.com/repo/x:1')).toEqual({ account: '123456789012', region: 'eu-west-1', registry: '123456789012.dkr.ecr.eu-west-1.amazonaws.com' });
    expect(ecrRegistryOf('python:3.11')).toBeUndefined();
  });
  it('logs in with the token on stdin, then pulls', async () => {
    const calls: { file: string; args: string[]; stdin?: string }[] = [];
    const run: Run = async (file, args, stdin) => {
      calls.push({ file, args, ...(stdin !== undefined ? { stdin } : {}) });
      return { code: 0, output: '' };
    };
    const token = Buffer.from('AWS:secret-password').toString('base64');
    const ecr = () => ({ send: async () => ({ authorizationData: [{ authorizationToken: token, proxyEndpoint: 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com' }] }) }) as never;
    await pullImage('123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1', run, ecr);
    expect(calls).toEqual([
      { file: 'docker', args: ['login', '--username', 'AWS', '--password-stdin', 'https://123456789012.dkr.ecr.us-east-1.amazonaws.com'], stdin: 'secret-password' },
      { file: 'docker', args: ['pull', '123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1'] },
    ]);
    calls.length = 0;
    await pullImage('python:3.11', run, ecr);
    expect(calls).toEqual([{ file: 'docker', args: ['pull', 'python:3.11'] }]);
  });
  it('names the image when the pull fails', async () => {
    await expect(pullImage('python:3.11', async () => ({ code: 1, output: 'manifest unknown' }))).rejects.toThrow(/docker pull python:3\.11 failed: manifest unknown/);
  });
});
