import { sql } from 'slonik';
import { z } from 'zod';
import { DateTime } from 'luxon';
import { campaignLedger, decideCampaign, dueGreetings, finishCampaign, markGreeting, markMessage } from '../db/campaigns';
import type { ActivityDependencies } from './context';
import { endpointFor } from './external/endpoints';
import { ExternalCallError } from './external/http';
import { createNotifyClient } from './external/notify';
import { defineServiceTask, once } from './external/service-task';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** processes/campaign.bpmn's side: the supervisor's decision, then the SMS to every opted-in contact, once each, at the campaign's rate. */
export function createCampaignActivities(deps: ActivityDependencies) {
  const { pool } = deps;
  const notify = once(() => createNotifyClient(endpointFor(deps.config, 'notify'), deps.logger));
  return {
    'campaign.send': defineServiceTask('campaign.send', z.object({ approved: z.boolean() }), deps, async (input, call) => {
      // Who decided: the supervisor who completed this instance's approval task (the inbox knows).
      const decidedBy = await pool.maybeOneFirst(sql.type(z.object({ completed_by: z.string().nullable() }))`
        SELECT completed_by FROM human_tasks WHERE workflow_id = ${call.workflowId} AND node_id = 'approve' AND status = 'completed' ORDER BY closed_at DESC LIMIT 1`);
      const campaign = await decideCampaign(pool, call.workflowId, { approved: input.approved, by: decidedBy });
      if (campaign.status === 'rejected') return { campaignStatus: 'rejected', sent: 0 };
      const pause = Math.ceil(1000 / campaign.rate_per_second);
      // Rows already sent (by an earlier attempt) are not pending: each contact gets one message.
      for (const [index, message] of (await campaignLedger(pool, campaign.id, 'pending')).entries()) {
        if (index > 0) await sleep(pause, call.signal);
        try {
          const { body } = await notify().sendSms({ to: message.phone, text: campaign.text }, { idempotencyKey: `${call.idempotencyKey}/${message.contact_id}`, workflowId: call.workflowId, signal: call.signal });
          await markMessage(pool, campaign.id, message.contact_id, { messageId: body.messageId });
        } catch (error) {
          // A refused number stays refused: it is recorded, the others go on. Anything else is retried.
          if (error instanceof ExternalCallError && !error.info.retryable) await markMessage(pool, campaign.id, message.contact_id, { error: error.message });
          else throw error;
        }
      }
      const finished = await finishCampaign(pool, campaign.id);
      return { campaignStatus: finished.status, sent: finished.sent, failed: finished.failed };
    }),

    /** The day's birthday and anniversary greetings (亲情服务) to key contacts, once a year each. */
    'care.sendGreetings': defineServiceTask('care.sendGreetings', z.object({ at: z.string().datetime({ offset: true }) }), deps, async (input, call) => {
      const day = DateTime.fromISO(input.at).setZone('Asia/Shanghai').toISODate()!;
      let sent = 0;
      for (const greeting of await dueGreetings(pool, day)) {
        const text =
          greeting.occasion === 'birthday'
            ? `尊敬的${greeting.name}：祝您生日快乐！感谢您和${greeting.account_name}一直以来的信任与支持。`
            : `尊敬的${greeting.name}：今天是我们与${greeting.account_name}合作的周年纪念日，感谢一路同行。`;
        try {
          // Keyed by contact, occasion and year, not by the day's instance: a greeting retried on a later day is still one message.
          const { body } = await notify().sendSms({ to: greeting.phone, text }, { idempotencyKey: `care-greetings/${greeting.contact_id}/${greeting.occasion}/${greeting.year}`, workflowId: call.workflowId, signal: call.signal });
          await markGreeting(pool, greeting, { messageId: body.messageId });
          sent += 1;
        } catch (error) {
          if (error instanceof ExternalCallError && !error.info.retryable) await markGreeting(pool, greeting, { error: error.message });
          else throw error;
        }
      }
      return { greetingsSent: sent };
    }),
  };
}
