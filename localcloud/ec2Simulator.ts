/**
 * The local cloud's EC2: an HTTP endpoint speaking EC2's Query protocol (API version
 * 2016-11-15, form-encoded requests, XML answers) so that code written with
 * `@aws-sdk/client-ec2` runs against it unchanged with `endpoint` set. It simulates spot and
 * on-demand capacity, launch delays, prices and spot interruptions, and emits the `aws.ec2`
 * events EventBridge would deliver.
 *
 * Simulated time runs `timeScale` times faster than real time: every delay below is in
 * simulated milliseconds and waits `delay / timeScale` real milliseconds, on real timers
 * unless `timers` gives others (a test's, that it moves on itself).
 *
 * Not simulated: signatures (not checked), pagination (everything fits one page), VPCs,
 * volumes, launch templates' contents, and the relaunch of a *terminated* instance of a
 * persistent spot request (only stopped/hibernated ones come back).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpotTrainingError } from '../shared/errors.js';

export interface SimulatedInstanceType {
  /** pending → running, in simulated ms. */
  launchDelayMs: number;
  /** false → spot RunInstances fails with InsufficientInstanceCapacity. */
  spotCapacity: boolean;
  /** Default true. */
  onDemandCapacity?: boolean;
  /** $/hour. */
  spotPrice: number;
  /** $/hour. */
  onDemandPrice: number;
}

export interface SimulatedEvent {
  source: 'aws.ec2';
  detailType: string;
  detail: Record<string, unknown>;
  resources: string[];
  time: Date;
}

export interface SimulatorOptions {
  region: string;
  account: string;
  /** The instance types that exist; any other is refused as EC2 refuses an invalid one. */
  types: Record<string, SimulatedInstanceType>;
  /** 60 means one simulated minute passes in one real second. Default 1. */
  timeScale?: number;
  /** Simulated ms between the interruption warning and the action. Default 120_000. */
  interruptionNoticeMs?: number;
  /** Simulated ms after which a stopped/hibernated persistent spot instance starts again (when there is spot capacity). Default 60_000. */
  stoppedReturnDelayMs?: number;
  emit: (event: SimulatedEvent) => Promise<void>;
  log?: (entry: Record<string, unknown>) => void;
  /** Where the delays wait. Default: the process's timers. */
  timers?: SimulatorTimers;
}

/** Sets and clears the timers the simulator's delays wait on. */
export interface SimulatorTimers {
  set(run: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

const REAL_TIMERS: SimulatorTimers = {
  set: (run, ms) => setTimeout(run, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export type InstanceStateName = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';
export type InterruptionBehavior = 'terminate' | 'stop' | 'hibernate';

export interface SimulatedInstance {
  instanceId: string;
  instanceType: string;
  state: InstanceStateName;
  market: 'spot' | 'on-demand';
  spotRequestType?: 'one-time' | 'persistent';
  interruptionBehavior: InterruptionBehavior;
  tags: Record<string, string>;
  userData?: string;
  clientToken?: string;
  launchTime: Date;
}

export interface ListeningSimulator {
  url: string;
  close(): Promise<void>;
}

/** EC2's numeric state codes (the low byte of `instanceState.code`). */
const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

/** Simulated ms an instance spends shutting down / stopping. */
const SHUTDOWN_MS = 5_000;
const STOP_MS = 10_000;

const XMLNS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
const SPOT_NO_CAPACITY = 'There is no Spot capacity available that matches your request.';

/** An error EC2 would answer with: its code, message and HTTP status. */
class Ec2Error extends SpotTrainingError {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

interface InstanceRecord extends SimulatedInstance {
  reservationId: string;
  imageId: string;
  spotInstanceRequestId?: string;
  /** The persistent spot request was cancelled: a stopped instance no longer comes back. */
  spotRequestCancelled: boolean;
  /** Stopped by a spot interruption (EC2 restarts it), rather than by the owner (StartInstances does). */
  stoppedByInterruption: boolean;
  /** Warned, the action still to come. */
  interruptionPending?: boolean;
  /** What instance metadata's spot/instance-action says once warned: the action and when it happens. */
  interruptionNotice?: { action: InterruptionBehavior; time: string };
  iamInstanceProfileArn?: string;
  amiLaunchIndex: number;
  /** The one pending state transition of this instance; a new one replaces it. */
  timer?: unknown;
  /** Events of this instance are delivered one after the other, in the order they happened. */
  emitted: Promise<void>;
}

interface Reservation {
  reservationId: string;
  instanceIds: string[];
  /** The request's parameters without ClientToken, to recognise a retry of the same request. */
  fingerprint: string;
}

type Params = Map<string, string>;

export class Ec2Simulator {
  private readonly timeScale: number;
  private readonly interruptionNoticeMs: number;
  private readonly stoppedReturnDelayMs: number;
  private readonly records = new Map<string, InstanceRecord>();
  private readonly reservationsByToken = new Map<string, Reservation>();
  private readonly timers = new Set<unknown>();
  private readonly clock: SimulatorTimers;
  private readonly servers = new Set<ListeningSimulator>();
  private closed = false;

  constructor(private readonly options: SimulatorOptions) {
    this.timeScale = options.timeScale ?? 1;
    if (!(this.timeScale > 0)) throw new Error(`timeScale must be positive, got ${String(options.timeScale)}`);
    this.interruptionNoticeMs = options.interruptionNoticeMs ?? 120_000;
    this.stoppedReturnDelayMs = options.stoppedReturnDelayMs ?? 60_000;
    this.clock = options.timers ?? REAL_TIMERS;
  }

  async listen(port: number, host = '127.0.0.1'): Promise<ListeningSimulator> {
    const server = createServer((req, res) => void this.serve(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address() as AddressInfo;
    const listening: ListeningSimulator = {
      url: `http://${host}:${address.port}`,
      close: async () => {
        this.servers.delete(listening);
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      },
    };
    this.servers.add(listening);
    return listening;
  }

  instance(id: string): SimulatedInstance | undefined {
    const record = this.records.get(id);
    return record && publicView(record);
  }

  instances(): SimulatedInstance[] {
    return [...this.records.values()].map(publicView);
  }

  setSpotCapacity(type: string, available: boolean): void {
    this.typeOf(type).spotCapacity = available;
  }

  /** The spot notice instance metadata shows for the instance, while one is pending. */
  interruptionNotice(instanceId: string): { action: InterruptionBehavior; time: string } | undefined {
    return this.records.get(instanceId)?.interruptionNotice;
  }

  /** Whether an interruption of the instance is under way (warned, action pending). */
  interrupting(instanceId: string): boolean {
    return this.records.get(instanceId)?.interruptionPending === true;
  }

  /**
   * `warned: true` when the warning was already sent by someone else (a synthetic event put
   * on the bus): the simulator then only carries out the action after the notice window.
   */
  async interrupt(instanceId: string, action?: InterruptionBehavior, options: { rebalance?: boolean; warned?: boolean } = {}): Promise<void> {
    const record = this.records.get(instanceId);
    if (!record) throw new Error(`interrupt: no instance ${instanceId}`);
    if (record.interruptionPending) return;
    if (record.market !== 'spot') throw new Error(`interrupt: ${instanceId} is an on-demand instance; only spot instances are interrupted`);
    if (record.state !== 'pending' && record.state !== 'running') {
      throw new Error(`interrupt: ${instanceId} is ${record.state}; only a pending or running instance can be interrupted`);
    }
    const instanceAction = action ?? record.interruptionBehavior;
    if (instanceAction !== 'terminate' && record.spotRequestType !== 'persistent') {
      throw new Error(`interrupt: instance-action ${instanceAction} needs a persistent spot request, ${instanceId} has a ${record.spotRequestType ?? 'one-time'} one`);
    }
    this.options.log?.({ message: 'spot interruption', instanceId, instanceAction, rebalance: options.rebalance ?? false });
    record.interruptionPending = true;
    record.interruptionNotice = { action: instanceAction, time: new Date(Date.now() + this.interruptionNoticeMs / this.timeScale).toISOString().replace(/\.\d+Z$/, 'Z') };
    if (options.rebalance && !options.warned) {
      this.emitFor(record, 'EC2 Instance Rebalance Recommendation', { 'instance-id': instanceId });
    }
    if (!options.warned) {
      this.emitFor(record, 'EC2 Spot Instance Interruption Warning', { 'instance-id': instanceId, 'instance-action': instanceAction });
    }
    this.schedule(record, this.interruptionNoticeMs, () => {
      record.interruptionPending = false;
      record.interruptionNotice = undefined;
      if (instanceAction === 'terminate') {
        this.beginTermination(record);
      } else {
        record.stoppedByInterruption = true;
        this.beginStop(record);
      }
    });
    await record.emitted;
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const timer of this.timers) this.clock.clear(timer);
    this.timers.clear();
    for (const record of this.records.values()) record.timer = undefined;
    await Promise.all([...this.servers].map((server) => server.close()));
    await Promise.all([...this.records.values()].map((record) => record.emitted));
  }

  // ---- HTTP -------------------------------------------------------------------------------

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomUUID();
    let action = '';
    try {
      const params = await readParams(req);
      action = params.get('Action') ?? '';
      const body = this.dispatch(action, params);
      this.options.log?.({ message: 'ec2 request', action, requestId, status: 200 });
      reply(res, 200, requestId, `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${XMLNS}"><requestId>${requestId}</requestId>${body}</${action}Response>`);
    } catch (error) {
      const ec2Error = error instanceof Ec2Error ? error : new Ec2Error('InternalError', 'An internal error has occurred', 500);
      if (!(error instanceof Ec2Error)) this.options.log?.({ message: 'ec2 simulator failure', action, requestId, error: String(error) });
      this.options.log?.({ message: 'ec2 request', action, requestId, status: ec2Error.status, errorCode: ec2Error.code });
      reply(
        res,
        ec2Error.status,
        requestId,
        `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${xml(ec2Error.code)}</Code><Message>${xml(ec2Error.message)}</Message></Error></Errors><RequestID>${requestId}</RequestID></Response>`,
      );
    }
  }

  private dispatch(action: string, params: Params): string {
    switch (action) {
      case 'RunInstances':
        return this.runInstances(params);
      case 'TerminateInstances':
        return this.terminateInstances(params);
      case 'StopInstances':
        return this.stopInstances(params);
      case 'StartInstances':
        return this.startInstances(params);
      case 'DescribeInstances':
        return this.describeInstances(params);
      case 'DescribeSpotPriceHistory':
        return this.describeSpotPriceHistory(params);
      case 'CancelSpotInstanceRequests':
        return this.cancelSpotInstanceRequests(params);
      default:
        throw new Ec2Error('InvalidAction', `The action ${action || '(none)'} is not valid for this web service.`);
    }
  }

  // ---- actions ----------------------------------------------------------------------------

  private runInstances(params: Params): string {
    const clientToken = params.get('ClientToken');
    const fingerprint = [...params].filter(([key]) => key !== 'ClientToken').sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k}=${v}`).join('&');
    if (clientToken) {
      const earlier = this.reservationsByToken.get(clientToken);
      if (earlier) {
        if (earlier.fingerprint !== fingerprint) {
          throw new Ec2Error('IdempotentParameterMismatch', 'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).');
        }
        return this.reservationXml(earlier.reservationId, earlier.instanceIds.map((id) => this.records.get(id)!));
      }
    }

    const minCount = integerParam(params, 'MinCount');
    const maxCount = integerParam(params, 'MaxCount');
    if (minCount < 1) throw new Ec2Error('InvalidParameterValue', `Invalid value '${minCount}' for MinCount. Must be at least 1.`);
    if (maxCount < minCount) throw new Ec2Error('InvalidParameterValue', `Invalid value '${maxCount}' for MaxCount: it must be at least MinCount (${minCount}).`);
    const imageId = params.get('ImageId') ?? params.get('LaunchTemplate.LaunchTemplateId') ?? params.get('LaunchTemplate.LaunchTemplateName');
    if (!imageId) throw new Ec2Error('MissingParameter', 'The request must contain the parameter ImageId');
    // EC2's default instance type; not one the simulator knows unless configured.
    const instanceType = params.get('InstanceType') ?? 'm1.small';
    const type = this.options.types[instanceType];
    if (!type) throw new Ec2Error('InvalidParameterValue', `Invalid value '${instanceType}' for InstanceType.`);

    const marketType = params.get('InstanceMarketOptions.MarketType');
    if (marketType !== undefined && marketType !== 'spot' && marketType !== 'capacity-block') {
      throw new Ec2Error('InvalidParameterValue', `Invalid value '${marketType}' for InstanceMarketOptions.MarketType.`);
    }
    const spot = marketType === 'spot';
    const spotRequestType = params.get('InstanceMarketOptions.SpotOptions.SpotInstanceType') ?? 'one-time';
    const interruptionBehavior = params.get('InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior') ?? 'terminate';
    if (spot) {
      if (spotRequestType !== 'one-time' && spotRequestType !== 'persistent') {
        throw new Ec2Error('InvalidParameterValue', `Invalid value '${spotRequestType}' for InstanceMarketOptions.SpotOptions.SpotInstanceType.`);
      }
      if (interruptionBehavior !== 'terminate' && interruptionBehavior !== 'stop' && interruptionBehavior !== 'hibernate') {
        throw new Ec2Error('InvalidParameterValue', `Invalid value '${interruptionBehavior}' for InstanceMarketOptions.SpotOptions.InstanceInterruptionBehavior.`);
      }
      if (interruptionBehavior !== 'terminate' && spotRequestType !== 'persistent') {
        throw new Ec2Error(
          'InvalidParameterCombination',
          `The instance interruption behavior '${interruptionBehavior}' requires a persistent Spot request; SpotInstanceType is '${spotRequestType}'.`,
        );
      }
      const maxPrice = params.get('InstanceMarketOptions.SpotOptions.MaxPrice');
      if (maxPrice !== undefined && Number(maxPrice) < type.spotPrice) {
        throw new Ec2Error('SpotMaxPriceTooLow', `Your Spot request price of ${maxPrice} is lower than the minimum required Spot request fulfillment price of ${price(type.spotPrice)}.`);
      }
      if (!type.spotCapacity) throw new Ec2Error('InsufficientInstanceCapacity', SPOT_NO_CAPACITY, 500);
    } else if (type.onDemandCapacity === false) {
      throw new Ec2Error('InsufficientInstanceCapacity', onDemandNoCapacity(instanceType, this.zone), 500);
    }

    const tags: Record<string, string> = {};
    for (const [prefix, resourceType] of indexed(params, 'TagSpecification', 'ResourceType')) {
      if (resourceType !== 'instance') continue;
      for (const [tagPrefix, key] of indexed(params, `${prefix}.Tag`, 'Key')) {
        tags[key] = params.get(`${tagPrefix}.Value`) ?? '';
      }
    }

    const reservationId = `r-${hexId()}`;
    const launchTime = secondPrecision(new Date());
    const records: InstanceRecord[] = [];
    for (let index = 0; index < maxCount; index += 1) {
      const record: InstanceRecord = {
        instanceId: `i-${hexId()}`,
        instanceType,
        state: 'pending',
        market: spot ? 'spot' : 'on-demand',
        ...(spot ? { spotRequestType: spotRequestType as 'one-time' | 'persistent', spotInstanceRequestId: `sir-${randomBytes(4).toString('hex')}` } : {}),
        interruptionBehavior: spot ? (interruptionBehavior as InterruptionBehavior) : 'terminate',
        tags: { ...tags },
        ...(params.has('UserData') ? { userData: params.get('UserData') } : {}),
        ...(clientToken ? { clientToken } : {}),
        launchTime,
        reservationId,
        imageId,
        spotRequestCancelled: false,
        stoppedByInterruption: false,
        ...(params.has('IamInstanceProfile.Arn') || params.has('IamInstanceProfile.Name')
          ? { iamInstanceProfileArn: params.get('IamInstanceProfile.Arn') ?? `arn:aws:iam::${this.options.account}:instance-profile/${params.get('IamInstanceProfile.Name')}` }
          : {}),
        amiLaunchIndex: index,
        emitted: Promise.resolve(),
      };
      this.records.set(record.instanceId, record);
      records.push(record);
    }
    if (clientToken) this.reservationsByToken.set(clientToken, { reservationId, instanceIds: records.map((r) => r.instanceId), fingerprint });
    this.options.log?.({ message: 'instances launched', reservationId, instanceIds: records.map((r) => r.instanceId), instanceType, market: spot ? 'spot' : 'on-demand' });
    for (const record of records) {
      this.emitState(record);
      this.scheduleRunning(record);
    }
    return this.reservationXml(reservationId, records);
  }

  private terminateInstances(params: Params): string {
    const records = this.instancesNamed(params, true);
    return stateChangesXml(
      records.map((record) => {
        const previous = record.state;
        if (previous !== 'terminated' && previous !== 'shutting-down') this.beginTermination(record);
        return { record, previous };
      }),
    );
  }

  private stopInstances(params: Params): string {
    const records = this.instancesNamed(params, true);
    for (const record of records) {
      if (record.market === 'spot' && record.spotRequestType !== 'persistent') {
        throw new Ec2Error(
          'UnsupportedOperation',
          `You can't stop the Spot Instance '${record.instanceId}' because it is associated with a one-time Spot Instance request. You can only stop Spot Instances associated with persistent Spot Instance requests.`,
        );
      }
      if (record.state === 'pending' || record.state === 'shutting-down' || record.state === 'terminated') {
        throw new Ec2Error('IncorrectInstanceState', `The instance '${record.instanceId}' is not in a state from which it can be stopped.`);
      }
    }
    return stateChangesXml(
      records.map((record) => {
        const previous = record.state;
        if (previous === 'running') {
          record.stoppedByInterruption = false;
          this.beginStop(record);
        }
        return { record, previous };
      }),
    );
  }

  private startInstances(params: Params): string {
    const records = this.instancesNamed(params, true);
    for (const record of records) {
      if (record.state === 'stopping' || record.state === 'shutting-down' || record.state === 'terminated') {
        throw new Ec2Error('IncorrectInstanceState', `The instance '${record.instanceId}' is not in a state from which it can be started.`);
      }
      if (record.state !== 'stopped') continue;
      if (record.market === 'spot' && (record.stoppedByInterruption || record.spotRequestCancelled)) {
        throw new Ec2Error(
          'UnsupportedOperation',
          `You can't start the Spot Instance '${record.instanceId}' because the associated Spot Instance request is not in an appropriate state to support start.`,
        );
      }
      const type = this.typeOf(record.instanceType);
      if (record.market === 'spot' ? !type.spotCapacity : type.onDemandCapacity === false) {
        throw new Ec2Error('InsufficientInstanceCapacity', record.market === 'spot' ? SPOT_NO_CAPACITY : onDemandNoCapacity(record.instanceType, this.zone), 500);
      }
    }
    return stateChangesXml(
      records.map((record) => {
        const previous = record.state;
        if (previous === 'stopped') this.restart(record);
        return { record, previous };
      }),
    );
  }

  private describeInstances(params: Params): string {
    const named = [...indexedValues(params, 'InstanceId')];
    let records = named.length > 0 ? this.instancesNamed(params, false) : [...this.records.values()];
    for (const [prefix, name] of indexed(params, 'Filter', 'Name')) {
      const matchers = [...indexedValues(params, `${prefix}.Value`)].map(globMatcher);
      const valuesOf = this.filterField(name);
      records = records.filter((record) => valuesOf(record).some((value) => matchers.some((matches) => matches(value))));
    }
    const byReservation = new Map<string, InstanceRecord[]>();
    for (const record of records) {
      const group = byReservation.get(record.reservationId) ?? [];
      group.push(record);
      byReservation.set(record.reservationId, group);
    }
    const reservations = [...byReservation].map(([reservationId, group]) => `<item>${this.reservationXml(reservationId, group)}</item>`);
    return `<reservationSet>${reservations.join('')}</reservationSet>`;
  }

  private describeSpotPriceHistory(params: Params): string {
    const wantedTypes = [...indexedValues(params, 'InstanceType')];
    const products = [...indexedValues(params, 'ProductDescription')];
    const timestamp = isoSeconds(new Date());
    const items: string[] = [];
    for (const [name, type] of Object.entries(this.options.types)) {
      if (wantedTypes.length > 0 && !wantedTypes.includes(name)) continue;
      for (const product of products.length > 0 ? products : ['Linux/UNIX']) {
        items.push(
          `<item><instanceType>${xml(name)}</instanceType><productDescription>${xml(product)}</productDescription><spotPrice>${price(type.spotPrice)}</spotPrice><timestamp>${timestamp}</timestamp><availabilityZone>${this.zone}</availabilityZone></item>`,
        );
      }
    }
    return `<spotPriceHistorySet>${items.join('')}</spotPriceHistorySet><nextToken></nextToken>`;
  }

  private cancelSpotInstanceRequests(params: Params): string {
    const items = [...indexedValues(params, 'SpotInstanceRequestId')].map((requestId) => {
      const record = [...this.records.values()].find((r) => r.spotInstanceRequestId === requestId);
      if (!record) throw new Ec2Error('InvalidSpotInstanceRequestID.NotFound', `The spot instance request ID '${requestId}' does not exist`);
      record.spotRequestCancelled = true;
      return `<item><spotInstanceRequestId>${requestId}</spotInstanceRequestId><state>cancelled</state></item>`;
    });
    return `<spotInstanceRequestSet>${items.join('')}</spotInstanceRequestSet>`;
  }

  // ---- state machine ----------------------------------------------------------------------

  private scheduleRunning(record: InstanceRecord): void {
    this.schedule(record, this.typeOf(record.instanceType).launchDelayMs, () => this.setState(record, 'running'));
  }

  private beginTermination(record: InstanceRecord): void {
    this.setState(record, 'shutting-down');
    this.schedule(record, SHUTDOWN_MS, () => this.setState(record, 'terminated'));
  }

  private beginStop(record: InstanceRecord): void {
    this.setState(record, 'stopping');
    this.schedule(record, STOP_MS, () => {
      this.setState(record, 'stopped');
      if (record.stoppedByInterruption) this.scheduleReturn(record);
    });
  }

  /** A persistent spot request restarts its interrupted instance once spot capacity is back. */
  private scheduleReturn(record: InstanceRecord): void {
    this.schedule(record, this.stoppedReturnDelayMs, () => {
      if (record.spotRequestCancelled || record.state !== 'stopped') return;
      if (this.typeOf(record.instanceType).spotCapacity) this.restart(record);
      else this.scheduleReturn(record);
    });
  }

  private restart(record: InstanceRecord): void {
    record.stoppedByInterruption = false;
    this.setState(record, 'pending');
    this.scheduleRunning(record);
  }

  private setState(record: InstanceRecord, state: InstanceStateName): void {
    record.state = state;
    this.emitState(record);
  }

  private emitState(record: InstanceRecord): void {
    this.emitFor(record, 'EC2 Instance State-change Notification', { 'instance-id': record.instanceId, state: record.state });
  }

  /** Queues the event behind the instance's earlier ones, so one instance's events arrive in order. */
  private emitFor(record: InstanceRecord, detailType: string, detail: Record<string, unknown>): void {
    if (this.closed) return;
    const event: SimulatedEvent = {
      source: 'aws.ec2',
      detailType,
      detail,
      resources: [`arn:aws:ec2:${this.options.region}:${this.options.account}:instance/${record.instanceId}`],
      time: secondPrecision(new Date()),
    };
    this.options.log?.({ message: 'ec2 event', detailType, ...detail });
    record.emitted = record.emitted.then(() =>
      this.options.emit(event).catch((error: unknown) => this.options.log?.({ message: 'ec2 event not delivered', detailType, ...detail, error: String(error) })),
    );
  }

  /** Replaces the instance's pending transition with `then`, after `simulatedMs`. */
  private schedule(record: InstanceRecord, simulatedMs: number, then: () => void): void {
    if (record.timer !== undefined) {
      this.clock.clear(record.timer);
      this.timers.delete(record.timer);
      record.timer = undefined;
    }
    if (this.closed) return;
    const timer = this.clock.set(() => {
      this.timers.delete(timer);
      if (record.timer === timer) record.timer = undefined;
      if (!this.closed) then();
    }, simulatedMs / this.timeScale);
    record.timer = timer;
    this.timers.add(timer);
  }

  // ---- helpers ----------------------------------------------------------------------------

  private get zone(): string {
    return `${this.options.region}a`;
  }

  private typeOf(name: string): SimulatedInstanceType {
    const type = this.options.types[name];
    if (!type) throw new Error(`Unknown instance type '${name}': the simulator knows ${Object.keys(this.options.types).join(', ')}`);
    return type;
  }

  /** The instances named by InstanceId.N, refusing malformed and unknown ids as EC2 does. */
  private instancesNamed(params: Params, required: boolean): InstanceRecord[] {
    const ids = [...indexedValues(params, 'InstanceId')];
    if (required && ids.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter InstanceId');
    const malformed = ids.find((id) => !/^i-[0-9a-f]{8}([0-9a-f]{9})?$/.test(id));
    if (malformed !== undefined) throw new Ec2Error('InvalidInstanceID.Malformed', `Invalid id: "${malformed}"`);
    const unknown = ids.filter((id) => !this.records.has(id));
    if (unknown.length > 0) {
      throw new Ec2Error('InvalidInstanceID.NotFound', `The instance ID${unknown.length > 1 ? 's' : ''} '${unknown.join(', ')}' ${unknown.length > 1 ? 'do' : 'does'} not exist`);
    }
    return ids.map((id) => this.records.get(id)!);
  }

  private filterField(name: string): (record: InstanceRecord) => string[] {
    if (name.startsWith('tag:')) {
      const key = name.slice('tag:'.length);
      return (record) => (key in record.tags ? [record.tags[key]!] : []);
    }
    switch (name) {
      case 'tag-key':
        return (record) => Object.keys(record.tags);
      case 'tag-value':
        return (record) => Object.values(record.tags);
      case 'instance-state-name':
        return (record) => [record.state];
      case 'instance-state-code':
        return (record) => [String(STATE_CODES[record.state])];
      case 'instance-id':
        return (record) => [record.instanceId];
      case 'instance-type':
        return (record) => [record.instanceType];
      case 'instance-lifecycle':
        return (record) => (record.market === 'spot' ? ['spot'] : []);
      case 'reservation-id':
        return (record) => [record.reservationId];
      case 'client-token':
        return (record) => (record.clientToken ? [record.clientToken] : []);
      case 'spot-instance-request-id':
        return (record) => (record.spotInstanceRequestId ? [record.spotInstanceRequestId] : []);
      case 'availability-zone':
        return () => [this.zone];
      default:
        throw new Ec2Error('InvalidParameterValue', `The filter '${name}' is invalid`);
    }
  }

  private reservationXml(reservationId: string, records: InstanceRecord[]): string {
    return `<reservationId>${reservationId}</reservationId><ownerId>${this.options.account}</ownerId><groupSet/><instancesSet>${records.map((r) => this.instanceXml(r)).join('')}</instancesSet>`;
  }

  private instanceXml(record: InstanceRecord): string {
    const tags = Object.entries(record.tags)
      .map(([key, value]) => `<item><key>${xml(key)}</key><value>${xml(value)}</value></item>`)
      .join('');
    return [
      '<item>',
      `<instanceId>${record.instanceId}</instanceId>`,
      `<imageId>${xml(record.imageId)}</imageId>`,
      stateXml('instanceState', record.state),
      '<privateDnsName/><dnsName/><reason/>',
      `<amiLaunchIndex>${record.amiLaunchIndex}</amiLaunchIndex>`,
      '<productCodes/>',
      `<instanceType>${xml(record.instanceType)}</instanceType>`,
      `<launchTime>${isoSeconds(record.launchTime)}</launchTime>`,
      `<placement><availabilityZone>${this.zone}</availabilityZone><groupName/><tenancy>default</tenancy></placement>`,
      '<monitoring><state>disabled</state></monitoring>',
      '<architecture>x86_64</architecture><rootDeviceType>ebs</rootDeviceType><rootDeviceName>/dev/xvda</rootDeviceName>',
      '<virtualizationType>hvm</virtualizationType><hypervisor>xen</hypervisor>',
      record.market === 'spot' ? `<instanceLifecycle>spot</instanceLifecycle><spotInstanceRequestId>${record.spotInstanceRequestId}</spotInstanceRequestId>` : '',
      record.clientToken ? `<clientToken>${xml(record.clientToken)}</clientToken>` : '',
      record.iamInstanceProfileArn ? `<iamInstanceProfile><arn>${xml(record.iamInstanceProfileArn)}</arn><id>AIPA${hexId().toUpperCase().slice(0, 17)}</id></iamInstanceProfile>` : '',
      tags ? `<tagSet>${tags}</tagSet>` : '',
      `<hibernationOptions><configured>${record.interruptionBehavior === 'hibernate'}</configured></hibernationOptions>`,
      '</item>',
    ].join('');
  }
}

// ---- protocol helpers -----------------------------------------------------------------------

async function readParams(req: IncomingMessage): Promise<Params> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const params: Params = new Map(new URL(req.url ?? '/', 'http://localhost').searchParams);
  for (const [key, value] of new URLSearchParams(Buffer.concat(chunks).toString('utf8'))) params.set(key, value);
  return params;
}

function reply(res: ServerResponse, status: number, requestId: string, body: string): void {
  res.writeHead(status, {
    'content-type': 'text/xml;charset=UTF-8',
    'content-length': Buffer.byteLength(body),
    'x-amzn-requestid': requestId,
  });
  res.end(body);
}

/** `Prefix.1.field`, `Prefix.2.field`, … as [`Prefix.N`, value] while present. */
function* indexed(params: Params, prefix: string, field: string): Generator<[string, string]> {
  for (let n = 1; params.has(`${prefix}.${n}.${field}`); n += 1) {
    yield [`${prefix}.${n}`, params.get(`${prefix}.${n}.${field}`)!];
  }
}

/** `Prefix.1`, `Prefix.2`, … values while present. */
function* indexedValues(params: Params, prefix: string): Generator<string> {
  for (let n = 1; params.has(`${prefix}.${n}`); n += 1) yield params.get(`${prefix}.${n}`)!;
}

function integerParam(params: Params, name: string): number {
  const raw = params.get(name);
  if (raw === undefined) throw new Ec2Error('MissingParameter', `The request must contain the parameter ${name}`);
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new Ec2Error('InvalidParameterValue', `Invalid value '${raw}' for ${name}.`);
  return value;
}

/** EC2 filter values accept `*` and `?` wildcards. */
function globMatcher(pattern: string): (value: string) => boolean {
  const regex = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 's');
  return (value) => regex.test(value);
}

function stateXml(element: string, state: InstanceStateName): string {
  return `<${element}><code>${STATE_CODES[state]}</code><name>${state}</name></${element}>`;
}

function stateChangesXml(changes: { record: InstanceRecord; previous: InstanceStateName }[]): string {
  const items = changes.map(
    ({ record, previous }) => `<item><instanceId>${record.instanceId}</instanceId>${stateXml('currentState', record.state)}${stateXml('previousState', previous)}</item>`,
  );
  return `<instancesSet>${items.join('')}</instancesSet>`;
}

function onDemandNoCapacity(instanceType: string, zone: string): string {
  return `We currently do not have sufficient ${instanceType} capacity in the Availability Zone you requested (${zone}). Our system will be working on provisioning additional capacity.`;
}

function publicView(record: InstanceRecord): SimulatedInstance {
  return {
    instanceId: record.instanceId,
    instanceType: record.instanceType,
    state: record.state,
    market: record.market,
    ...(record.spotRequestType ? { spotRequestType: record.spotRequestType } : {}),
    interruptionBehavior: record.interruptionBehavior,
    tags: { ...record.tags },
    ...(record.userData !== undefined ? { userData: record.userData } : {}),
    ...(record.clientToken !== undefined ? { clientToken: record.clientToken } : {}),
    launchTime: record.launchTime,
  };
}

/** 17 lowercase hex digits, as in today's EC2 ids. */
function hexId(): string {
  return randomBytes(9).toString('hex').slice(0, 17);
}

function price(dollarsPerHour: number): string {
  return dollarsPerHour.toFixed(6);
}

function secondPrecision(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 1000) * 1000);
}

function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, '.000Z');
}

function xml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}
