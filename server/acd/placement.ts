/**
 * Where a waiting call sits: in the bucket (heap) of its current requirements, which routing
 * reads, and in its queue's order, which positions and announcements read. Below routing and the
 * timers, which both move calls in and out of line.
 */
import type { SkillRequirement } from './config.ts';
import { IndexedHeap } from './heap.ts';
import { callBefore, type AcdState, type Bucket, type CallRt } from './records.ts';

/** Put a waiting call into the bucket of its current requirements and into its queue's order. */
export function place(s: AcdState, call: CallRt): void {
  const b = bucketFor(s, call);
  call.bucket = b;
  b.heap.push(call);
  s.nonEmpty.add(b);
  call.queue.order.insert(call);
}

export function unplace(s: AcdState, call: CallRt): void {
  const b = call.bucket;
  if (b && b.heap.remove(call)) {
    if (b.heap.size === 0) s.nonEmpty.delete(b);
    call.queue.order.remove(call);
  }
  call.bucket = undefined;
}

/** The bucket for the call's queue, escalation step and own skills; made on first use. */
function bucketFor(s: AcdState, call: CallRt): Bucket {
  const q = call.queue;
  const key = call.skills ? `${call.step}|${JSON.stringify(call.skills)}` : `${call.step}`;
  let b = q.buckets.get(key);
  if (!b) {
    let alts: SkillRequirement[][] = [(call.skills ?? q.cfg.skills).map((r) => ({ ...r }))];
    for (const step of q.steps.slice(0, call.step)) {
      if (step.relaxMinLevel !== undefined) {
        const relax = step.relaxMinLevel;
        alts = alts.map((conj) => conj.map((r) => ({ skill: r.skill, minLevel: Math.min(r.minLevel, relax) })));
      }
      for (const add of step.addSkills ?? []) alts.push([{ ...add }]);
    }
    b = {
      key: `${q.name}#${key}`,
      queue: q,
      alts,
      heap: new IndexedHeap<CallRt>(callBefore),
      memo: new Uint8Array(s.nextOrd),
    };
    q.buckets.set(key, b);
    s.allBuckets.push(b);
  }
  return b;
}
