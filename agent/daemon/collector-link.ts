/**
 * The agent's link to the collector: the enrollment (read from the state folder, or made
 * with --enroll-token on the first start), the agent API client, the uploader that empties
 * the spool, and the passcode revocations the collector lists (kept on disk).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { replaceFileAtomically } from '../../src/atomic-file.js';
import type { Spool } from '../spool/spool.js';
import { collectorSender, Uploader } from '../spool/uploader.js';
import { AgentCollectorClient, checkCollectorUrl, type Enrollment, enrollmentFrom } from '../collector/client.js';
import type { AgentSettings } from './settings.js';
import { type AgentOptions, type LogFn, messageOf } from './options.js';

export type CollectorLinkOptions = Pick<AgentOptions, 'stateDir' | 'computer' | 'collectorUrl' | 'enrollToken' | 'collectorCa' | 'insecureDev' | 'onDemand'>;

export class CollectorLink {
  enrollment: Enrollment | null = null;
  client: AgentCollectorClient | null = null;
  uploader: Uploader | null = null;
  /** The passcode ids the collector lists as revoked (lower case). */
  revoked = new Set<string>();
  private readonly uploaderStop = new AbortController();
  private uploaderRun: Promise<void> | null = null;

  constructor(
    private readonly opts: CollectorLinkOptions,
    private readonly spool: Spool,
    /** The current policy's settings (read when the collector starts). */
    private readonly settings: () => AgentSettings,
    private readonly log: LogFn,
    /** Called when the revocations change (and once at the start with the saved ones). */
    private readonly revocationsChanged: () => Promise<void>,
  ) {}

  /** The collector: --collector, else the policy's Client Data Collection host. */
  get url(): string | null {
    return this.opts.collectorUrl ?? this.settings().collector.url;
  }

  /** Reads the enrollment (or enrolls), starts the uploader, loads and fetches revocations. */
  async start(): Promise<void> {
    const file = path.join(this.opts.stateDir, 'collector.json');
    const insecureDev = this.opts.insecureDev === true;
    if (insecureDev) {
      this.log('error', 'INSECURE DEVELOPMENT MODE (--insecure-dev): the collector is not authenticated (plain http or an unpinned certificate allowed); anyone who can answer on its address can pose as it. Never use this in production.');
    }
    try {
      const read = enrollmentFrom(JSON.parse(await fs.readFile(file, 'utf8')));
      if ('why' in read) this.log('error', `ignoring ${file}: ${read.why}`);
      else if (read.enrollment.insecure && !insecureDev) this.log('error', `ignoring ${file}: it was enrolled with --insecure-dev (the collector was not authenticated); enroll again without it`);
      else this.enrollment = read.enrollment;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log('warn', `ignoring ${file}: ${messageOf(e)}`);
    }
    const url = this.url;
    let wanted: string | null = null;
    try {
      wanted = url === null ? null : checkCollectorUrl(url, insecureDev).href;
    } catch (e) {
      // --collector is this machine's admin's mistake: refuse to start. The domain policy's host: say so, and keep events in the spool.
      if (this.opts.collectorUrl !== undefined) throw e;
      this.log('error', `not using the collector the policy names: ${messageOf(e)}`);
      return;
    }
    if (this.enrollment !== null && wanted !== null && this.enrollment.url !== wanted && !this.opts.enrollToken) {
      this.log('error', `the collector is now ${wanted}, but the agent is enrolled with ${this.enrollment.url}: events stay in the spool until it is enrolled there (--enroll-token-file)`);
      return;
    }
    if (wanted !== null && this.opts.enrollToken && (this.enrollment === null || this.enrollment.url !== wanted)) {
      this.enrollment = await AgentCollectorClient.enroll(wanted, this.opts.enrollToken, this.opts.computer, {
        insecureDev,
        ...(this.opts.collectorCa !== undefined ? { ca: this.opts.collectorCa } : {}),
      });
      await replaceFileAtomically(file, Buffer.from(`${JSON.stringify(this.enrollment)}\n`), 0o600);
      this.log('info', `enrolled with ${new URL(wanted).origin} as agent ${this.enrollment.agentId}${this.enrollment.anchor === null ? ' (UNAUTHENTICATED: --insecure-dev)' : ''}`);
    }
    if (this.enrollment === null) {
      if (url !== null) this.log('warn', `not enrolled with the collector ${url}: events stay in the spool (start once with --enroll-token-file)`);
      return;
    }
    this.client = new AgentCollectorClient(this.enrollment);
    this.uploader = new Uploader(this.spool, collectorSender(this.client.url.href, this.enrollment.credential, this.client.trust), {
      idleMs: this.settings().collector.uploadIntervalSeconds * 1000,
    });
    this.uploaderRun = this.uploader.run(this.uploaderStop.signal).then(() => {
      if (this.uploader?.status.unauthorized) this.log('error', `the collector refused the agent's credential: ${this.uploader.status.lastError ?? ''}; enroll again`);
    });
    await this.loadRevocations();
  }

  private async loadRevocations(): Promise<void> {
    const file = path.join(this.opts.stateDir, 'revocations.json');
    try {
      const saved = JSON.parse(await fs.readFile(file, 'utf8')) as { ids?: unknown };
      if (Array.isArray(saved.ids)) this.revoked = new Set(saved.ids.filter((x): x is string => typeof x === 'string').map((x) => x.toLowerCase()));
    } catch {
      // none saved yet
    }
    // Saved revocations count from the start, also when the collector is unreachable now.
    await this.revocationsChanged();
    // Started on demand after the first start, nobody waits for the network (a request that
    // started the agent, or one that comes during a wake): the saved revocations, at most a wake
    // interval old, count already, and the agent does not rest before the fetch ended.
    if (this.opts.onDemand && this.opts.onDemand.startedFor !== 'boot') void this.fetchRevocations();
    else await this.fetchRevocations();
  }

  /** Revocations from the collector (kept on disk so an offline machine honours them too). */
  async fetchRevocations(): Promise<void> {
    if (!this.client) return;
    this.fetching++;
    try {
      const list = await this.client.revocations();
      const ids = new Set(list.filter((r) => r.kind === 'passcode').map((r) => r.subject.toLowerCase()));
      const changed = ids.size !== this.revoked.size || [...ids].some((x) => !this.revoked.has(x));
      if (!changed) return;
      this.revoked = ids;
      await replaceFileAtomically(path.join(this.opts.stateDir, 'revocations.json'), Buffer.from(`${JSON.stringify({ ids: [...ids] })}\n`), 0o600);
      await this.revocationsChanged();
    } catch (e) {
      this.log('warn', `revocations not fetched: ${messageOf(e)}`);
    } finally {
      this.fetching--;
    }
  }

  private fetching = 0;

  /** No upload underway (none configured, caught up, or waiting out a failure) and no revocation fetch. */
  get settled(): boolean {
    if (this.fetching > 0) return false;
    return !this.uploader || this.uploaderStop.signal.aborted || this.uploader.waiting || this.uploader.status.unauthorized;
  }

  /** Stops the uploader and waits for it (its last attempt included). */
  async stop(): Promise<void> {
    this.uploaderStop.abort();
    await this.uploaderRun?.catch(() => undefined);
  }
}
