import { z } from 'zod';
import type { Logger } from '../../runtime/logger';
import { callPartner, callOptions, type CallOptions, type PartnerEndpoint } from './http';
import { endpointFor } from './endpoints';
import { defineServiceTask, once, type ExternalDependencies } from './service-task';
import { notificationLocales, notificationTemplateIds, renderTemplate, TemplateError } from './templates';
import { mobileNumber, sendEmailRequest, sendEmailResponse, sendSmsRequest, sendSmsResponse } from './wire';

/** The SMS and e-mail gateway. */
export function createNotifyClient(endpoint: PartnerEndpoint, logger?: Logger) {
  return {
    sendSms: (request: z.input<typeof sendSmsRequest>, options: CallOptions) =>
      callPartner(endpoint, { operation: 'notify.sendSms', method: 'POST', path: '/sms', body: sendSmsRequest.parse(request), response: sendSmsResponse, ...callOptions(options) }, logger),
    sendEmail: (request: z.input<typeof sendEmailRequest>, options: CallOptions) =>
      callPartner(endpoint, { operation: 'notify.sendEmail', method: 'POST', path: '/email', body: sendEmailRequest.parse(request), response: sendEmailResponse, ...callOptions(options) }, logger),
  };
}

export type NotifyClient = ReturnType<typeof createNotifyClient>;

const templated = {
  template: z.enum(notificationTemplateIds),
  locale: z.enum(notificationLocales).default('zh-CN'),
  params: z.record(z.union([z.string().max(500), z.number()])).default({}),
};

/**
 * Service-task activities (`kf:type="notify.sendSms"` / `"notify.sendEmail"`): render a template
 * in the customer's language, then send it. A template that cannot be rendered fails at once.
 */
export function createNotifyActivities(deps: ExternalDependencies) {
  const client = once(() => createNotifyClient(endpointFor(deps.config, 'notify'), deps.logger));
  const render = (input: { template: (typeof notificationTemplateIds)[number]; locale: (typeof notificationLocales)[number]; params: Record<string, string | number> }) => {
    try {
      return renderTemplate(input.template, input.locale, input.params);
    } catch (error) {
      // Reported as a schema problem, so the service task fails as invalid input (never retried).
      if (error instanceof TemplateError) throw new z.ZodError(error.problems.map((message) => ({ code: 'custom', path: ['params'], message })));
      throw error;
    }
  };
  return {
    'notify.sendSms': defineServiceTask('notify.sendSms', z.object({ to: mobileNumber, ...templated }), deps, async (input, call) => {
      const { text } = render(input);
      const { body } = await client().sendSms({ to: input.to, text }, call);
      return { smsMessageId: body.messageId, smsSegments: body.segments };
    }),
    'notify.sendEmail': defineServiceTask('notify.sendEmail', z.object({ to: z.string().email().max(200), ...templated }), deps, async (input, call) => {
      const { subject, text } = render(input);
      const { body } = await client().sendEmail({ to: input.to, subject, text }, call);
      return { emailMessageId: body.messageId };
    }),
  };
}
