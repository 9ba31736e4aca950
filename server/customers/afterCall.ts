/**
 * After the call, put together (issue 19): the customer file and screen pop, the after-call write
 * (disposition, note, complaint, work order), work orders with their SLA timer, knowledge cards,
 * survey and work-order reports, and the webhook dispatcher. centre.ts starts it with what it
 * needs from the running centre (the agents' current calls, who is signed in) and mounts its HTTP
 * handlers (server/http/customers.ts, server/http/workorders.ts).
 */
import type { IncomingMessage } from 'node:http';
import type pg from 'pg';
import type { Clock } from '../../lib/clock.ts';
import { Emitter } from '../../lib/events.ts';
import { log as rootLog } from '../../lib/log.ts';
import { HttpError } from '../http/server.ts';
import { loadCards, matchCards, type KnowledgeCard } from '../knowledge/cards.ts';
import type { CcEvent } from '../kpi/events.ts';
import { surveyReport, type SurveyReport } from '../kpi/surveys.ts';
import type { Audit } from '../store/audit.ts';
import { PgCustomerStore, type Customer, type CustomerContact } from '../store/customers.ts';
import { screenPopHistory } from './screenPopHistory.ts';
import { PgWebhookStore } from '../store/webhooks.ts';
import { PgWorkOrderStore } from '../store/workorders.ts';
import { WebhookDispatcher } from '../webhooks/dispatcher.ts';
import type { NewWorkOrder, WorkOrder } from '../workorders/engine.ts';
import { complaintRoute } from '../workorders/engine.ts';
import { workOrderReport, type WorkOrderReport } from '../workorders/report.ts';
import { WorkOrderService, type ServiceResult } from '../workorders/service.ts';
import {
  AfterCallConfigSchema,
  fillUrlTemplate,
  loadAfterCallConfig,
  type AfterCallConfig,
  type Owner,
  type WebhookEventType,
} from './config.ts';
import { normaliseNumber } from './number.ts';

const log = rootLog.child({ mod: 'aftercall' });

/** Who is asking: an agent signed in on the desktop (Bearer), or HTTP Basic credentials. */
export interface Who {
  id: string;
  role: string;
  /** Signed in through the agent desktop (Bearer). */
  agent: boolean;
}

/** A call in progress as the screen pop needs it. */
export interface LiveCall {
  contactId: string;
  caller: string;
  queue?: string | undefined;
  agent?: string | undefined;
  /** The IVR's variables (lookup results, collected digits). */
  vars: Record<string, string>;
}

export interface AfterCallDeps {
  configDir: string;
  pool: pg.Pool;
  clock: Clock;
  /** The events the survey report needs for [from, to) (store.surveyedEvents). */
  surveyEvents: (from: number, to: number) => Promise<CcEvent[]>;
  /** One contact's logged events: the screen pop of a contact whose call is gone (a callback's). */
  contactEvents?: (contactId: string) => Promise<CcEvent[]>;
  call: (contactId: string) => LiveCall | undefined;
  /** The contact offered to or talking with the agent (the ACD's view). */
  agentCall: (agentId: string) => string | undefined;
  /** A desktop session's agent (Bearer token), and the agent's role in agents.yaml. */
  bearer: (req: IncomingMessage) => Who | undefined;
  basic: (req: IncomingMessage) => { id: string; role: string } | undefined;
  endWrapUp?: (agentId: string) => void;
  audit?: Audit | undefined;
  /** Longest sleep between looks at the webhook outbox. */
  webhooksPollMs?: number;
  /** Longest sleep of the SLA timer. */
  escalationPollMs?: number;
}

export interface WrapupInput {
  disposition?: string | undefined;
  note?: string | undefined;
  complaint: boolean;
  complaintCategory?: string | undefined;
  workOrder?: Omit<NewWorkOrder, 'createdBy' | 'owner' | 'customerId' | 'contactId'> & { owner?: Owner | undefined };
  endWrapUp: boolean;
}

export class AfterCall {
  config: AfterCallConfig;
  cards: KnowledgeCard[] = [];
  readonly customers: PgCustomerStore;
  readonly workOrderStore: PgWorkOrderStore;
  readonly outbox: PgWebhookStore;
  readonly workOrders: WorkOrderService;
  readonly dispatcher: WebhookDispatcher;
  /** Work orders created, changed or escalated: pushed to the work-orders page (SSE). */
  readonly changes = new Emitter<{ workorder: [type: string, body: Record<string, unknown>] }>();
  readonly clock: Clock;
  readonly audit: Audit | undefined;

  constructor(private readonly deps: AfterCallDeps) {
    this.clock = deps.clock;
    this.audit = deps.audit;
    this.config = AfterCallConfigSchema.parse({});
    this.reload();
    this.customers = new PgCustomerStore(deps.pool);
    this.workOrderStore = new PgWorkOrderStore(deps.pool);
    this.outbox = new PgWebhookStore(deps.pool);
    this.dispatcher = new WebhookDispatcher({
      store: this.outbox,
      clock: deps.clock,
      hooks: () => this.config.webhooks,
      backoff: () => ({ baseMs: this.config.webhookRetry.baseSec * 1000, maxMs: this.config.webhookRetry.maxSec * 1000 }),
      ...(deps.webhooksPollMs ? { pollMs: deps.webhooksPollMs } : {}),
    });
    this.workOrders = new WorkOrderService(
      this.workOrderStore,
      deps.clock,
      () => this.config.workOrders,
      async (type, body) => {
        this.changes.emit('workorder', type, body);
        await this.outbox.enqueue(type, body);
        this.dispatcher.poke();
      },
      deps.escalationPollMs,
    );
  }

  /** Queue an event for the webhooks that subscribed to it (durable: the outbox is in Postgres). */
  async notify(type: WebhookEventType, body: Record<string, unknown>): Promise<void> {
    await this.outbox.enqueue(type, body);
    this.dispatcher.poke();
  }

  /** The agent (Bearer) or Basic user asking. */
  who(req: IncomingMessage): Who | undefined {
    const b = this.deps.bearer(req);
    if (b) return b;
    const x = this.deps.basic(req);
    // An agent signing in with their own password (the work-orders page) acts as that agent.
    return x ? { ...x, agent: x.role === 'agent' } : undefined;
  }

  start(): this {
    this.workOrders.start();
    this.dispatcher.start();
    return this;
  }

  async stop(): Promise<void> {
    this.workOrders.stop();
    this.dispatcher.stop();
  }

  /** Re-read config/aftercall.yaml and config/knowledge; a bad edit keeps the previous version. */
  reload(): void {
    const c = loadAfterCallConfig(this.deps.configDir);
    if (c.ok) this.config = c.config;
    else log.error({ errors: c.errors }, 'aftercall.yaml rejected; the previous version stays in force');
    const k = loadCards(this.deps.configDir);
    if (k.ok) this.cards = k.cards;
    else log.error({ errors: k.errors }, 'knowledge cards rejected; the previous set stays in force');
  }

  agentCall(agentId: string): string | undefined {
    return this.deps.agentCall(agentId);
  }

  async answeredBy(contactId: string, agentId: string): Promise<boolean> {
    return ((await this.customers.contact(contactId))?.agents ?? []).includes(agentId);
  }

  /** The customer, their contacts and work orders. */
  async customerFile(id: string): Promise<{ customer: Customer; contacts: CustomerContact[]; workOrders: WorkOrder[] } | undefined> {
    const customer = await this.customers.get(id);
    if (!customer) return undefined;
    const [contacts, workOrders] = await Promise.all([
      this.customers.contacts(customer.numbers, { limit: 200 }),
      this.workOrderStore.list({ customerId: id, limit: 200 }),
    ]);
    return { customer, contacts, workOrders };
  }

  /** What the agent's desktop shows for a call: who, what happened before, open work orders, cards, CRM link. */
  async screenPop(contactId: string, agentId: string) {
    const live = this.deps.call(contactId);
    const stored = live ? undefined : await this.customers.contact(contactId);
    if (!live && !stored) return undefined;
    const caller = live?.caller ?? stored!.caller;
    const vars = live?.vars ?? {};
    const number = normaliseNumber(caller);
    const cc = this.config.customers;
    const customer =
      number && number.replace('+', '').length <= 32
        ? await this.customers.resolve(number, { externalId: vars[cc.externalIdVariable], name: vars[cc.nameVariable] })
        : undefined;
    const previous = customer ? await this.customers.contacts(customer.numbers, { limit: cc.historyLimit, exclude: contactId }) : [];
    const openWorkOrders = customer
      ? await this.workOrderStore.list({ customerId: customer.id, open: true, finalStates: this.config.workOrders.finalStates, limit: 50 })
      : [];
    // A contact whose call is gone: its queue, wait and IVR path from its logged events.
    const history = live ? undefined : screenPopHistory((await this.deps.contactEvents?.(contactId)) ?? []);
    const queue = live?.queue ?? history?.queue;
    const cards = matchCards(this.cards, {
      queue,
      ivr: vars,
      dispositions: previous.flatMap((p) => (p.disposition ? [p.disposition] : [])),
      text: [...Object.values(vars), ...previous.slice(0, 5).flatMap((p) => [p.note ?? '', p.disposition ?? ''])].join(' '),
    });
    for (const m of cards) await this.recordView(m.card.id, 'shown', agentId, contactId);
    const template = (queue !== undefined ? this.config.screenPop.crmUrl[queue] : undefined) ?? this.config.screenPop.crmUrl['*'];
    const crmUrl = template
      ? fillUrlTemplate(template, {
          number: number ?? caller,
          customerId: customer?.id,
          externalId: customer?.externalId,
          contactId,
          queue,
        })
      : undefined;
    return {
      contactId,
      caller,
      ...(queue !== undefined ? { queue } : {}),
      ...(customer ? { customer } : {}),
      previousContacts: previous,
      openWorkOrders,
      cards: cards.map((m) => ({
        id: m.card.id,
        title: m.card.title,
        body: m.card.body,
        version: m.card.version,
        tags: m.card.tags,
        why: m.why,
      })),
      ...(crmUrl ? { crmUrl } : {}),
      ivr: vars,
      ...(history ? { history } : {}),
    };
  }

  /** The agent's after-call record: disposition, note, complaint (routed by the rules), a work order. */
  async wrapup(contactId: string, w: Who, body: WrapupInput) {
    const mine = w.agent && (this.deps.agentCall(w.id) === contactId || (await this.answeredBy(contactId, w.id)));
    if (!mine && !(!w.agent && (w.role === 'supervisor' || w.role === 'admin')))
      throw new HttpError(403, 'only the agent who answered the contact (or a supervisor) writes its wrap-up');
    const live = this.deps.call(contactId);
    const caller = live?.caller ?? (await this.customers.contact(contactId))?.caller;
    if (caller === undefined) throw new HttpError(404, 'no such contact');
    const now = this.clock.now();
    const number = normaliseNumber(caller);
    const customer = number && number.replace('+', '').length <= 32 ? await this.customers.resolve(number) : undefined;
    const wcfg = this.config.workOrders;
    const complaintCategory = body.complaint
      ? (body.complaintCategory ??
        body.workOrder?.category ??
        Object.entries(wcfg.categories).find(([, c]) => c.complaint)?.[0] ??
        'complaint')
      : undefined;
    await this.customers.recordWrapup({
      contactId,
      agentId: w.id,
      at: now,
      disposition: body.disposition,
      note: body.note,
      complaint: body.complaint,
      complaintCategory,
    });
    let workOrder: WorkOrder | undefined;
    const route = complaintCategory ? complaintRoute(this.config.complaints.escalation, complaintCategory) : undefined;
    const request = body.workOrder
      ? {
          ...body.workOrder,
          owner: body.workOrder.owner ?? route?.owner ?? { kind: 'agent' as const, id: w.id },
          priority: body.workOrder.priority ?? route?.priority,
          complaint: body.complaint || body.workOrder.complaint,
        }
      : route && complaintCategory && complaintCategory in wcfg.categories
        ? {
            category: complaintCategory,
            owner: route.owner,
            priority: route.priority,
            subject: `Complaint${body.disposition ? `: ${body.disposition}` : ''}`,
            description: body.note,
            complaint: true,
          }
        : undefined;
    if (request) {
      const r: ServiceResult<WorkOrder> = await this.workOrders.create({
        ...request,
        createdBy: w.id,
        contactId,
        ...(customer ? { customerId: customer.id } : {}),
      });
      if (!r.ok) throw new HttpError(r.status ?? 400, `workOrder: ${r.error}`);
      workOrder = r.value;
    }
    if (body.complaint) {
      await this.outbox.enqueue('complaint.raised', {
        contactId,
        agentId: w.id,
        category: complaintCategory,
        ...(customer ? { customerId: customer.id } : {}),
        ...(workOrder ? { workOrderId: workOrder.id } : {}),
      });
      this.dispatcher.poke();
    }
    if (body.endWrapUp && w.agent) this.deps.endWrapUp?.(w.id);
    return { contactId, ...(customer ? { customerId: customer.id } : {}), ...(workOrder ? { workOrder } : {}), complaint: body.complaint };
  }

  async createWorkOrder(input: NewWorkOrder): Promise<ServiceResult<WorkOrder>> {
    let customerId = input.customerId;
    if (customerId === undefined && input.contactId) {
      const c = await this.customers.contact(input.contactId);
      const n = normaliseNumber(c?.caller);
      if (n && n.replace('+', '').length <= 32) customerId = (await this.customers.resolve(n)).id;
    } else if (customerId !== undefined && !(await this.customers.get(customerId))) {
      return { ok: false, error: `no customer "${customerId}"`, status: 400 };
    }
    return this.workOrders.create({ ...input, ...(customerId ? { customerId } : {}) });
  }

  private async recordView(card: string, kind: 'shown' | 'click', agentId: string, contactId: string | undefined): Promise<void> {
    await this.deps.pool.query(
      'INSERT INTO knowledge_views (card, kind, agent_id, contact_id, at) VALUES ($1, $2, $3, $4, to_timestamp($5 / 1000.0))',
      [card, kind, agentId, contactId ?? null, this.clock.now()],
    );
  }

  async cardClicked(card: string, agentId: string, contactId: string | undefined): Promise<boolean> {
    if (!this.cards.some((c) => c.id === card)) return false;
    await this.recordView(card, 'click', agentId, contactId);
    return true;
  }

  /** Every card with how often it was shown and clicked, and the click-through rate. */
  async cardStats() {
    const r = await this.deps.pool.query<{ card: string; shown: string; clicks: string }>(
      `SELECT card, count(*) FILTER (WHERE kind = 'shown') AS shown, count(*) FILTER (WHERE kind = 'click') AS clicks FROM knowledge_views GROUP BY card`,
    );
    const by = new Map(r.rows.map((x) => [x.card, { shown: Number(x.shown), clicks: Number(x.clicks) }]));
    return this.cards.map((c) => {
      const s = by.get(c.id) ?? { shown: 0, clicks: 0 };
      return {
        id: c.id,
        title: c.title,
        version: c.version,
        tags: c.tags,
        match: c.match,
        shown: s.shown,
        clicks: s.clicks,
        clickThrough: s.shown ? Math.round((s.clicks / s.shown) * 10_000) / 10_000 : null,
      };
    });
  }

  async surveyReport(range: { from: number; to: number }): Promise<SurveyReport> {
    return surveyReport(await this.deps.surveyEvents(range.from, range.to), range);
  }

  async workOrderReport(range: { from: number; to: number }): Promise<WorkOrderReport> {
    const [orders, counts] = await Promise.all([
      this.workOrderStore.list({ from: range.from, to: range.to, limit: 100_000 }),
      this.customers.complaintCounts(range.from, range.to),
    ]);
    return workOrderReport(orders, { ...range, asOf: Math.min(range.to, this.clock.now()) }, counts);
  }
}
